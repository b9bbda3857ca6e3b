package linkhealth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/shared/hoststats"
)

// Tiers of the processes that report.
const (
	TierEdge       = "edge"
	TierBackOffice = "backoffice"
)

// StaleAfter is how many report intervals may pass before a heartbeat
// counts as missing. The heartbeat key expires after the same time.
const StaleAfter = 3

// DefaultInterval is the report interval of a Reporter without one.
const DefaultInterval = 5 * time.Second

// forgetAfter is how long a process that stopped reporting stays listed as
// 未上报 before it drops off the server list.
const forgetAfter = 24 * time.Hour

// Keys names the Redis keys of the heartbeats under a prefix.
type Keys struct{ Prefix string }

// Heartbeat is the key of one process's latest report, a JSON Report that
// expires StaleAfter intervals after it was written.
func (k Keys) Heartbeat(instance string) string {
	return k.Prefix + "systemstate:heartbeat:" + instance
}

// Instances is the sorted set of every process that reported within a day,
// scored by the Unix time in milliseconds of its latest report.
func (k Keys) Instances() string { return k.Prefix + "systemstate:instances" }

// Report is one heartbeat: the process, its host's resource use, the
// round-trip times of its probes and the health of its links.
type Report struct {
	Instance        string           `json:"instance"`
	Tier            string           `json:"tier"`
	Host            string           `json:"host"`
	ReportedAt      time.Time        `json:"reportedAt"`
	IntervalSeconds float64          `json:"intervalSeconds"`
	Resources       hoststats.Sample `json:"resources"`
	// ResourceError is set when the host's use could not be read.
	ResourceError string `json:"resourceError,omitempty"`
	// LatencyMilliseconds is each probe's round-trip time by target
	// (redis, postgresql); a failed probe is in ProbeErrors instead.
	LatencyMilliseconds map[string]float64 `json:"latencyMilliseconds"`
	ProbeErrors         map[string]string  `json:"probeErrors,omitempty"`
	Links               []Status           `json:"links"`
}

// Stale reports whether r is too old to trust at now.
func (r Report) Stale(now time.Time) bool {
	interval := time.Duration(r.IntervalSeconds * float64(time.Second))
	return now.Sub(r.ReportedAt) > StaleAfter*interval
}

// Probe is one round-trip check, such as a Redis PING.
type Probe struct {
	Target string
	Check  func(ctx context.Context) error
	// Link, when set, receives the probe's outcome as a call of Interface.
	Link      string
	Interface string
}

// Reporter writes a heartbeat every Interval until its context ends.
type Reporter struct {
	Redis    rueidis.Client
	Keys     Keys
	Tier     string
	Instance string
	Interval time.Duration
	Tracker  *Tracker
	Sampler  *hoststats.Sampler
	Probes   []Probe
	Now      func() time.Time
}

// DefaultInstance returns a name for this process: the host name, the tier,
// the process ID and a random suffix, so the servers that tests start in
// one process get distinct names.
func DefaultInstance(tier string) string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return host + "/" + tier + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(suffix)
}

// Run reports at once, then every Interval (DefaultInterval when not
// positive) until ctx ends. Failures are logged, the first and then every
// hundredth.
func (r *Reporter) Run(ctx context.Context) {
	if r.Interval <= 0 {
		r.Interval = DefaultInterval
	}
	ticker := time.NewTicker(r.Interval)
	defer ticker.Stop()
	failures := 0
	for {
		if err := r.Report(ctx); err != nil && ctx.Err() == nil {
			if failures++; failures == 1 || failures%100 == 0 {
				slog.Warn("system state heartbeat not written", "instance", r.Instance, "error", err, "failures", failures)
			}
		} else {
			failures = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Report runs the probes, samples the host and writes one heartbeat.
func (r *Reporter) Report(ctx context.Context) error {
	report := r.collect(ctx)
	value, err := json.Marshal(report)
	if err != nil {
		return fmt.Errorf("encode heartbeat: %w", err)
	}
	key := r.Keys.Heartbeat(r.Instance)
	score := float64(report.ReportedAt.UnixMilli())
	forgotten := strconv.FormatInt(report.ReportedAt.Add(-forgetAfter).UnixMilli(), 10)
	ctx, cancel := context.WithTimeout(ctx, r.Interval)
	defer cancel()
	commands := rueidis.Commands{
		r.Redis.B().Set().Key(key).Value(string(value)).Px(StaleAfter * r.Interval).Build(),
		r.Redis.B().Zadd().Key(r.Keys.Instances()).ScoreMember().ScoreMember(score, r.Instance).Build(),
		r.Redis.B().Zremrangebyscore().Key(r.Keys.Instances()).Min("-inf").Max("(" + forgotten).Build(),
	}
	for _, result := range r.Redis.DoMulti(ctx, commands...) {
		if err := result.Error(); err != nil {
			return fmt.Errorf("write heartbeat %s: %w", key, err)
		}
	}
	return nil
}

func (r *Reporter) collect(ctx context.Context) Report {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	report := Report{
		Instance: r.Instance, Tier: r.Tier, IntervalSeconds: r.Interval.Seconds(),
		LatencyMilliseconds: map[string]float64{}, ProbeErrors: map[string]string{},
	}
	report.Host, _ = os.Hostname()

	for _, probe := range r.Probes {
		probeCtx, cancel := context.WithTimeout(ctx, r.Interval)
		start := time.Now()
		err := probe.Check(probeCtx)
		elapsed := time.Since(start)
		cancel()
		if err != nil {
			report.ProbeErrors[probe.Target] = ErrorCode(err)
		} else {
			report.LatencyMilliseconds[probe.Target] = float64(elapsed.Microseconds()) / 1000
		}
		if probe.Link != "" {
			r.Tracker.Record(probe.Link, probe.Interface, err)
		}
	}

	if r.Sampler != nil {
		sample, err := r.Sampler.Sample()
		if err != nil {
			report.ResourceError = err.Error()
		}
		report.Resources = sample
	}
	report.Links = r.Tracker.Snapshot()
	report.ReportedAt = now()
	return report
}
