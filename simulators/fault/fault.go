// Package fault injects latency and failures into a simulator's HTTP
// handler, so that clients' circuit breakers, retries and fallbacks can be
// exercised. The configuration can be changed while requests are served.
package fault

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sh-preschool/preschool/simulators/internal/jsonhttp"
)

// DefaultHangTimeout is how long ModeHang holds a request when
// Options.HangTimeout is zero.
const DefaultHangTimeout = 30 * time.Second

// maxTrackedPaths bounds the per-path counters, because clients or scanners
// can send any number of distinct paths. Further paths count under otherPath.
const maxTrackedPaths = 256

const otherPath = "(other)"

// Streams of the two PCG generators, so that the failure sequence does not
// depend on whether jitter is configured.
const (
	failureStream = 0x6661696c75726573 // "failures"
	jitterStream  = 0x6a6974746572     // "jitter"
)

// Options configure an Injector beyond its Config.
type Options struct {
	// Name identifies the simulator in logs, for example "identity".
	Name string
	// Seed makes the failure and jitter sequences reproducible: the same seed
	// and the same order of requests give the same decisions. Zero picks a
	// random seed.
	Seed uint64
	// HangTimeout is how long ModeHang holds a request; zero means
	// DefaultHangTimeout.
	HangTimeout time.Duration
	// Logger receives control changes and injected faults; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Injector adds the configured latency and failures to the requests that
// pass through Middleware, and counts them.
type Injector struct {
	name        string
	logger      *slog.Logger
	hangTimeout time.Duration

	config atomic.Pointer[Config]
	// controlMu serialises configuration updates, because /_control reads the
	// current configuration, merges the request into it and stores the result.
	controlMu sync.Mutex

	// mu guards the generators and the counters.
	mu          sync.Mutex
	failureRand *rand.Rand
	jitterRand  *rand.Rand
	requests    int64
	failures    int64
	paths       map[string]*PathStats
}

// Stats are the counters of one Injector since it was created.
type Stats struct {
	Config   Config               `json:"config"`
	Requests int64                `json:"requests"`
	Failures int64                `json:"failuresInjected"`
	Paths    map[string]PathStats `json:"paths"`
}

// PathStats are the counters of one request path. Paths beyond the first 256
// distinct ones are counted together under "(other)".
type PathStats struct {
	Requests int64 `json:"requests"`
	Failures int64 `json:"failuresInjected"`
}

// New returns an Injector with the given configuration. It returns an error
// when cfg is invalid (see Config.Validate).
func New(cfg Config, options Options) (*Injector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	seed := options.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	hangTimeout := options.HangTimeout
	if hangTimeout <= 0 {
		hangTimeout = DefaultHangTimeout
	}
	logger := options.Logger
	if logger == nil {
		logger = slog.Default()
	}

	injector := &Injector{
		name:        options.Name,
		logger:      logger.With("service", options.Name),
		hangTimeout: hangTimeout,
		failureRand: rand.New(rand.NewPCG(seed, failureStream)),
		jitterRand:  rand.New(rand.NewPCG(seed, jitterStream)),
		paths:       make(map[string]*PathStats),
	}
	normalized := cfg.normalized()
	injector.config.Store(&normalized)
	return injector, nil
}

// Config returns the current configuration.
func (in *Injector) Config() Config {
	return *in.config.Load()
}

// SetConfig replaces the configuration for the requests that arrive from now
// on. It returns an error and keeps the old configuration when cfg is invalid.
func (in *Injector) SetConfig(cfg Config) error {
	in.controlMu.Lock()
	defer in.controlMu.Unlock()
	return in.storeConfig(cfg)
}

func (in *Injector) storeConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	normalized := cfg.normalized()
	previous := in.config.Swap(&normalized)
	in.logger.Info("fault config changed", "previous", *previous, "current", normalized)
	return nil
}

// Stats returns a snapshot of the counters and the current configuration.
func (in *Injector) Stats() Stats {
	in.mu.Lock()
	defer in.mu.Unlock()

	paths := make(map[string]PathStats, len(in.paths))
	for path, counters := range in.paths {
		paths[path] = *counters
	}
	return Stats{Config: in.Config(), Requests: in.requests, Failures: in.failures, Paths: paths}
}

// Middleware returns a handler that delays each request by Latency plus a
// random jitter, then fails it with probability FailureRate in FailureMode
// or passes it to next. A request whose client gives up during the delay is
// dropped without calling next.
//
// With a seed, the decisions are reproducible for requests that arrive one
// after another. Concurrent requests draw from the generators in arrival
// order, which varies between runs.
func (in *Injector) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg := in.Config()
		fail, delay := in.decide(r.URL.Path, cfg)

		if delay > 0 && !sleep(r.Context(), delay) {
			return
		}
		if !fail {
			next.ServeHTTP(w, r)
			return
		}

		in.countFailure(r.URL.Path)
		in.logger.Debug("fault injected", "mode", cfg.FailureMode, "method", r.Method, "path", r.URL.Path)
		switch cfg.FailureMode {
		case ModeHang:
			in.hang(w, r)
		case ModeReset:
			resetConnection(w)
		default:
			writeInjectedError(w, ModeError)
		}
	})
}

// decide counts the request and draws its failure decision and its delay.
// It draws a failure number for every request, even at rate 0 or 1, so a
// seeded sequence stays aligned when the rate changes at run time.
func (in *Injector) decide(path string, cfg Config) (fail bool, delay time.Duration) {
	in.mu.Lock()
	defer in.mu.Unlock()

	in.requests++
	in.pathStats(path).Requests++

	fail = in.failureRand.Float64() < cfg.FailureRate
	delay = cfg.Latency
	if cfg.Jitter > 0 {
		delay += time.Duration(in.jitterRand.Int64N(int64(cfg.Jitter) + 1))
	}
	return fail, delay
}

func (in *Injector) countFailure(path string) {
	in.mu.Lock()
	defer in.mu.Unlock()

	in.failures++
	in.pathStats(path).Failures++
}

// pathStats returns the counters of path; in.mu must be held.
func (in *Injector) pathStats(path string) *PathStats {
	counters, ok := in.paths[path]
	if ok {
		return counters
	}
	if len(in.paths) >= maxTrackedPaths {
		path = otherPath
		if counters, ok := in.paths[path]; ok {
			return counters
		}
	}
	counters = &PathStats{}
	in.paths[path] = counters
	return counters
}

// hang holds the request until the client gives up or the hang timeout
// passes, and writes a 503 in the second case.
func (in *Injector) hang(w http.ResponseWriter, r *http.Request) {
	if sleep(r.Context(), in.hangTimeout) {
		writeInjectedError(w, ModeHang)
	}
}

// resetConnection closes the client's connection with a TCP reset. When the
// connection cannot be hijacked (HTTP/2), it aborts the response instead,
// which closes an HTTP/1 connection or resets an HTTP/2 stream.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcpConn, ok := conn.(*net.TCPConn); ok {
		// A zero linger time makes Close send RST instead of FIN.
		_ = tcpConn.SetLinger(0)
	}
	_ = conn.Close()
}

func writeInjectedError(w http.ResponseWriter, mode string) {
	w.Header().Set("X-Fault-Injected", mode)
	jsonhttp.WriteError(w, http.StatusServiceUnavailable, "service_unavailable", "服务暂时不可用，请稍后再试（模拟故障）。", "")
}

// sleep waits for d and reports whether it elapsed before ctx was done.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
