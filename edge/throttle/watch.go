package throttle

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// LoadFile reads and checks a limits file.
func LoadFile(path string) (*Limits, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseLimits(data)
}

// WatchFile applies the limits file to t whenever its modification time or
// size changes (checked every interval) and on SIGHUP, until ctx ends. An
// invalid file is logged and reported to onReload, and the limits in force
// stay. onReload may be nil.
func WatchFile(ctx context.Context, path string, t *Throttle, interval time.Duration, onReload func(err error)) {
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
		limits, err := LoadFile(path)
		if err != nil {
			slog.Error("limits file rejected, previous limits stay in force", "path", path, "error", err)
		} else {
			t.Apply(limits)
			slog.Info("limits file applied", "path", path)
		}
		if onReload != nil {
			onReload(err)
		}
	}
}

func fileStamp(path string) (time.Time, int64) {
	info, err := os.Stat(path)
	if err != nil {
		return time.Time{}, -1
	}
	return info.ModTime(), info.Size()
}
