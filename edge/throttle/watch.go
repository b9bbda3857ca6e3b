package throttle

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// LoadFile reads and checks a limits file. routes are the names of the
// routes the edge throttles, as for ParseLimits.
func LoadFile(path string, routes []string) (*Limits, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseLimits(data, routes)
}

// Results of a limits file reload, as WatchFile reports them to onReload.
// The edge uses them as the result label of edge_limits_reloads_total.
const (
	// ReloadApplied means the file's new content is in force.
	ReloadApplied = "applied"
	// ReloadUnchanged means the file was read again, but its content is
	// the one in force, so nothing was applied.
	ReloadUnchanged = "unchanged"
	// ReloadRejected means the file is invalid or unreadable, so the
	// limits in force stay.
	ReloadRejected = "rejected"
)

// WatchFile reads the limits file again whenever its modification time or
// size changes (checked every interval) and on SIGHUP, until ctx ends. It
// applies the file to t unless the content is byte for byte the one in
// force. routes are the names of the routes the edge throttles, as for
// ParseLimits. WatchFile logs each reload and reports its result to
// onReload, with the error when the result is ReloadRejected. onReload may
// be nil.
func WatchFile(ctx context.Context, path string, routes []string, t *Throttle, interval time.Duration, onReload func(result string, err error)) {
	hangup := make(chan os.Signal, 1)
	signal.Notify(hangup, syscall.SIGHUP)
	defer signal.Stop(hangup)

	lastModified, lastSize := fileStamp(path)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		force := false
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-hangup:
			force = true
		}
		modified, size := fileStamp(path)
		if !force && modified.Equal(lastModified) && size == lastSize {
			continue
		}
		lastModified, lastSize = modified, size
		result, err := reload(path, routes, t)
		switch result {
		case ReloadApplied:
			slog.Info("limits file applied", "path", path)
		case ReloadUnchanged:
			slog.Info("limits file unchanged, limits in force stay", "path", path)
		default:
			slog.Error("limits file rejected, previous limits stay in force", "path", path, "error", err)
		}
		if onReload != nil {
			onReload(result, err)
		}
	}
}

// reload reads the limits file and applies it to t unless its content is
// the one in force.
func reload(path string, routes []string, t *Throttle) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return ReloadRejected, err
	}
	if sha256.Sum256(data) == t.Limits().digest {
		return ReloadUnchanged, nil
	}
	limits, err := ParseLimits(data, routes)
	if err != nil {
		return ReloadRejected, err
	}
	t.Apply(limits)
	return ReloadApplied, nil
}

func fileStamp(path string) (time.Time, int64) {
	info, err := os.Stat(path)
	if err != nil {
		return time.Time{}, -1
	}
	return info.ModTime(), info.Size()
}
