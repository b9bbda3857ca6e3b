package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// report is the driver's output after a run.
type report struct {
	result *result
	target string

	// backlogEnd is the back office's backlog right after the last response.
	backlogEnd   int64
	backlogExact bool

	verified    bool
	drainTime   time.Duration
	deadLetters int64
	store       storeCheck
	problems    []string
}

// errors counts the requests that got neither a 202 nor a throttling
// response (429, 503): other statuses, transport errors and dropped arrivals.
func (p *report) errors() int64 {
	r := p.result
	var other int64
	for status, count := range r.statuses {
		if status != fasthttp.StatusAccepted && status != fasthttp.StatusTooManyRequests && status != fasthttp.StatusServiceUnavailable {
			other += count
		}
	}
	return other + r.transportErrors() + r.dropped
}

// backlogSeconds is the backlog at the end in seconds of the measured
// accepted rate.
func (p *report) backlogSeconds() float64 {
	rate := p.result.acceptedPerSecond()
	if rate == 0 {
		return 0
	}
	return float64(p.backlogEnd) / rate
}

func (p *report) print(w io.Writer) {
	r := p.result
	fmt.Fprintf(w, "mode %s against %s: %d connections", r.mode, p.target, r.connections)
	if r.mode == "open" {
		fmt.Fprintf(w, ", %d arrivals per second", r.rate)
	}
	fmt.Fprintf(w, ", %s planned, %.1f s measured\n", r.duration, r.elapsed.Seconds())

	var responded int64
	for _, count := range r.statuses {
		responded += count
	}
	fmt.Fprintf(w, "requests: responded=%d transport_errors=%d dropped=%d\n", responded, r.transportErrors(), r.dropped)
	for _, status := range sortedKeys(r.statuses) {
		fmt.Fprintf(w, "  status %d: %d\n", status, r.statuses[status])
	}
	for _, code := range sortedKeys(r.codes) {
		fmt.Fprintf(w, "  error %s: %d\n", code, r.codes[code])
	}
	for _, kind := range sortedKeys(r.transport) {
		fmt.Fprintf(w, "  transport error %s: %d\n", kind, r.transport[kind])
	}
	fmt.Fprintf(w, "latency of responded requests (ms): p50=%s p90=%s p95=%s p99=%s p99.9=%s max=%s\n",
		milliseconds(r.latency.quantile(0.50)), milliseconds(r.latency.quantile(0.90)), milliseconds(r.latency.quantile(0.95)),
		milliseconds(r.latency.quantile(0.99)), milliseconds(r.latency.quantile(0.999)), milliseconds(r.latency.max))
	if r.acceptedLatency.total == 0 {
		fmt.Fprintln(w, "latency of accepted requests: no 202 responses")
	} else {
		fmt.Fprintf(w, "latency of accepted requests (ms): p50=%s p95=%s p99=%s max=%s\n",
			milliseconds(r.acceptedLatency.quantile(0.50)), milliseconds(r.acceptedLatency.quantile(0.95)),
			milliseconds(r.acceptedLatency.quantile(0.99)), milliseconds(r.acceptedLatency.max))
	}
	slowest, fastest := secondExtremes(r.perSecond)
	fmt.Fprintf(w, "accepted per second: mean=%.0f slowest_second=%d fastest_second=%d\n", r.acceptedPerSecond(), slowest, fastest)
	fmt.Fprintf(w, "driver CPU during the load: %.1f s (%.0f µs per request)\n", r.cpu.Seconds(), r.cpuPerRequest())

	if r.mode != "bare" {
		exactness := ""
		if !p.backlogExact {
			exactness = " (upper bound: Redis reported no lag, so this is the stream length)"
		}
		fmt.Fprintf(w, "backlog when the load ended: %d entries, %.2f s of the accepted rate%s\n", p.backlogEnd, p.backlogSeconds(), exactness)
	}
	if p.verified {
		s := p.store
		fmt.Fprintf(w, "drained in %.1f s; dead letters in the stream: %d\n", p.drainTime.Seconds(), p.deadLetters)
		fmt.Fprintf(w, "postgres: accepted=%d found=%d lost=%d run_rows=%d run_children=%d duplicated=%d unexpected=%d\n",
			s.accepted, s.found, s.lost(), s.runRows, s.runChildren, s.duplicated(), s.unexpected)
	}
	for _, problem := range p.problems {
		fmt.Fprintf(w, "problem: %s\n", problem)
	}
	fmt.Fprintln(w, p.summary())
}

// summary is the last output line: name=value figures for scripts.
func (p *report) summary() string {
	r := p.result
	fields := []string{
		"mode=" + r.mode,
		"connections=" + strconv.Itoa(r.connections),
	}
	if r.mode == "open" {
		fields = append(fields, "rate="+strconv.Itoa(r.rate))
	}
	fields = append(fields,
		"duration_s="+strconv.FormatFloat(r.duration.Seconds(), 'f', -1, 64),
		"accepted="+strconv.FormatInt(r.accepted(), 10),
		fmt.Sprintf("accepted_per_s=%.0f", r.acceptedPerSecond()),
		"p50_ms="+percentile(&r.latency, 0.50),
		"p95_ms="+percentile(&r.latency, 0.95),
		"p99_ms="+percentile(&r.latency, 0.99),
		"accepted_p99_ms="+percentile(&r.acceptedLatency, 0.99),
		"rejected_429="+strconv.FormatInt(r.statuses[fasthttp.StatusTooManyRequests], 10),
		"rejected_503="+strconv.FormatInt(r.statuses[fasthttp.StatusServiceUnavailable], 10),
		"errors="+strconv.FormatInt(p.errors(), 10),
	)
	if r.mode == "open" {
		fields = append(fields, "dropped="+strconv.FormatInt(r.dropped, 10))
	}
	if r.mode != "bare" {
		fields = append(fields,
			"backlog_end="+strconv.FormatInt(p.backlogEnd, 10),
			fmt.Sprintf("backlog_end_s=%.2f", p.backlogSeconds()))
	}
	if p.verified {
		fields = append(fields,
			fmt.Sprintf("drain_s=%.1f", p.drainTime.Seconds()),
			"lost="+strconv.FormatInt(p.store.lost(), 10),
			"duplicated="+strconv.FormatInt(p.store.duplicated(), 10),
			"unexpected="+strconv.FormatInt(p.store.unexpected, 10))
	}
	fields = append(fields,
		fmt.Sprintf("driver_cpu_s=%.1f", r.cpu.Seconds()),
		"loadavg_1m="+loadAverage())
	return strings.Join(fields, " ")
}

func milliseconds(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

// percentile formats a quantile of h in milliseconds for the summary line,
// or "n/a" when h is empty, so that a run without a single 202 does not
// report a latency of 0.
func percentile(h *histogram, q float64) string {
	if h.total == 0 {
		return "n/a"
	}
	return milliseconds(h.quantile(q))
}

// secondExtremes returns the fewest and most 202 responses in one whole
// second, leaving out the last sample, which may cover the run's tail.
func secondExtremes(samples []int64) (slowest, fastest int64) {
	if len(samples) > 1 {
		samples = samples[:len(samples)-1]
	}
	if len(samples) == 0 {
		return 0, 0
	}
	return slices.Min(samples), slices.Max(samples)
}

// loadAverage returns the one-minute load average from /proc/loadavg, or
// "unknown" where there is none.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return "unknown"
	}
	return fields[0]
}

func sortedKeys[K int | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}
