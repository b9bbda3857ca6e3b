// Command loaddriver measures the registration path: how many registrations
// per second the edge accepts (202), at what latency, how far the back
// office's drainer lags behind, and whether PostgreSQL ends up with exactly
// the accepted registrations. See loadtest/README.md.
//
//	loaddriver -mode closed -connections 1000 -duration 60s
//	loaddriver -mode open -rate 10000 -duration 30s
//	loaddriver -mode bare -connections 1000 -duration 60s
//
// It sends load only to a loopback address and stops after -duration.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/redis/rueidis"
	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/logging"
	"github.com/sh-preschool/preschool/shared/redisclient"
)

const registrationsPath = "/api/v1/registrations"

// exitCheckFailed is the exit status when the run completed but PostgreSQL
// lost or duplicated registrations, or a check after the run failed.
const exitCheckFailed = 3

type options struct {
	mode         string
	edgeURL      string
	connections  int
	duration     time.Duration
	rate         int
	maxQueue     int
	timeout      time.Duration
	keyringFile  string
	redisAddress string
	redisPass    string
	redisPrefix  string
	databaseURL  string
	verify       bool
	drainTimeout time.Duration
	firstChild   int64
	cpuProfile   string
	parents      int
}

func parseOptions(args []string) (options, error) {
	var o options
	flags := flag.NewFlagSet("loaddriver", flag.ContinueOnError)
	flags.StringVar(&o.mode, "mode", "closed", "load model: closed (each connection sends back to back), open (fixed arrival rate) or bare (closed model against an in-process bare fasthttp server)")
	flags.StringVar(&o.edgeURL, "edge", envOr("EDGE_URL", "http://127.0.0.1:8080"), "base URL of the edge; must be a loopback address (env EDGE_URL)")
	flags.IntVar(&o.connections, "connections", 1000, "number of TCP connections (closed and bare: concurrent senders; open: the most requests in flight)")
	flags.DurationVar(&o.duration, "duration", 60*time.Second, "how long to send")
	flags.IntVar(&o.rate, "rate", 10000, "open model: arrivals per second")
	flags.IntVar(&o.maxQueue, "max-queue", 0, "open model: the most arrivals waiting for a free connection before new ones are dropped (0: one second of arrivals)")
	flags.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of one request (read and write each)")

	flags.StringVar(&o.keyringFile, "keyring", os.Getenv("CRYPTO_KEYRING_FILE"), "keyring file of the stack, to sign parents' session tokens (env CRYPTO_KEYRING_FILE)")
	flags.StringVar(&o.redisAddress, "redis-addr", envOr("REDIS_ADDR", "127.0.0.1:6379"), "Redis address of the stack (env REDIS_ADDR)")
	flags.StringVar(&o.redisPass, "redis-password", os.Getenv("REDIS_PASSWORD"), "Redis password (env REDIS_PASSWORD)")
	flags.StringVar(&o.redisPrefix, "redis-prefix", envOr("REDIS_PREFIX", "ps:"), "Redis key prefix of the stack (env REDIS_PREFIX)")
	flags.StringVar(&o.databaseURL, "database-url", envOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/preschool?sslmode=disable"), "PostgreSQL URL of the stack (env DATABASE_URL)")

	flags.BoolVar(&o.verify, "verify", true, "closed and open: after the load, wait for the back office to drain the stream and check PostgreSQL")
	flags.DurationVar(&o.drainTimeout, "drain-timeout", 5*time.Minute, "how long to wait for the back office to drain the stream")
	flags.Int64Var(&o.firstChild, "first-child", -1, "number of the first generated child; -1 continues after the previous run's children, counted in Redis under <prefix>loadtest:next-child")
	flags.IntVar(&o.parents, "parents", 200_000, "number of parents whose session tokens are signed before the load starts; each request takes the next one in turn")
	flags.StringVar(&o.cpuProfile, "cpuprofile", "", "write the driver's own CPU profile of the load phase to this file (go tool pprof reads it)")
	if err := flags.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.mode != "closed" && o.mode != "open" && o.mode != "bare":
		return o, fmt.Errorf("invalid -mode %q: use closed, open or bare", o.mode)
	case o.connections < 1:
		return o, fmt.Errorf("invalid -connections %d: use 1 or more", o.connections)
	case o.duration <= 0:
		return o, fmt.Errorf("invalid -duration %s: use a positive duration such as 60s", o.duration)
	case o.mode == "open" && o.rate < 1:
		return o, fmt.Errorf("invalid -rate %d: use 1 or more arrivals per second", o.rate)
	case o.timeout <= 0:
		return o, fmt.Errorf("invalid -timeout %s: use a positive duration", o.timeout)
	case o.parents < 1:
		return o, fmt.Errorf("invalid -parents %d: use 1 or more", o.parents)
	}
	if o.maxQueue <= 0 {
		o.maxQueue = o.rate
	}
	if o.mode != "bare" {
		if o.keyringFile == "" {
			return o, errors.New("missing -keyring: name the stack's keyring file (or set CRYPTO_KEYRING_FILE) so that the edge accepts the session tokens")
		}
		if err := checkLoopback(o.edgeURL); err != nil {
			return o, err
		}
	}
	return o, nil
}

func envOr(name, fallback string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return fallback
}

// checkLoopback rejects a target outside this machine: the driver is for
// servers started here.
func checkLoopback(rawURL string) error {
	parsed, err := url.Parse(rawURL)
	if err != nil || parsed.Scheme != "http" || parsed.Host == "" {
		return fmt.Errorf("invalid -edge %q: use an http URL such as http://127.0.0.1:8080", rawURL)
	}
	host := parsed.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("invalid -edge %q: the load driver sends load only to a loopback address (127.0.0.1, ::1 or localhost)", rawURL)
}

func main() {
	logging.Setup("loaddriver")
	// The driver shares the machine with the system it measures, so it
	// collects garbage rarely to leave the CPU to the system.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(800)
	}
	o, err := parseOptions(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loaddriver:", err)
		os.Exit(2)
	}
	status, err := run(context.Background(), o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loaddriver:", err)
		os.Exit(1)
	}
	os.Exit(status)
}

func run(ctx context.Context, o options) (int, error) {
	if o.mode == "bare" {
		return runBare(o)
	}

	keyring, err := crypto.LoadKeyringFile(o.keyringFile)
	if err != nil {
		return 0, fmt.Errorf("-keyring %s: %w", o.keyringFile, err)
	}
	population, err := loadPopulation(ctx, o.edgeURL)
	if err != nil {
		return 0, err
	}
	redis, err := redisclient.Open(ctx, redisclient.Options{Address: o.redisAddress, Password: o.redisPass})
	if err != nil {
		return 0, err
	}
	defer redis.Close()
	keys := enrolment.Keys{Prefix: o.redisPrefix}
	if _, _, err := backlog(ctx, redis, keys); err != nil {
		return 0, err
	}

	firstChild := o.firstChild
	if firstChild < 0 {
		if firstChild, err = nextChild(ctx, redis, keys); err != nil {
			return 0, err
		}
	}
	gen := &generator{
		population: population,
		url:        o.edgeURL + registrationsPath,
		firstChild: firstChild,
	}
	gen.signTokens(keyring, randomTag(), o.parents)
	client, err := newClient(gen.url, o)
	if err != nil {
		return 0, err
	}
	slog.Info("load starting", "mode", o.mode, "target", gen.url, "connections", o.connections, "duration", o.duration.String(),
		"rate", o.rate, "first_child", firstChild, "children_available", population.capacity()-firstChild)

	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return 0, err
	}
	runStart := time.Now()
	var r *result
	if o.mode == "open" {
		r = runOpen(client, gen, o.connections, o.rate, o.maxQueue, o.duration)
	} else {
		r = runClosed(client, gen, o.connections, o.duration)
	}
	stopProfile()
	report := &report{result: r, target: gen.url}
	report.backlogEnd, report.backlogExact, err = backlog(ctx, redis, keys)
	if err != nil {
		report.problems = append(report.problems, "backlog when the load ended not read: "+err.Error())
	}
	if err := saveNextChild(ctx, redis, keys, firstChild+gen.used()); err != nil {
		slog.Error("next child number not saved; pass -first-child to the next run", "next_child", firstChild+gen.used(), "error", err)
	}
	if firstChild+gen.used() > population.capacity() {
		slog.Warn("the run used more children than there are distinct resident IDs, so some were registered twice (409)",
			"children_used", firstChild+gen.used(), "capacity", population.capacity())
	}
	if o.verify {
		report.checkStored(ctx, redis, keys, o, runStart)
	}

	report.print(os.Stdout)
	if len(report.problems) > 0 || report.verified && (report.store.lost() != 0 || report.store.duplicated() != 0) {
		return exitCheckFailed, nil
	}
	return 0, nil
}

// checkStored waits for the back office to drain the stream and compares
// the accepted receipts with PostgreSQL. A step that fails is recorded in
// the report's problems, and the store figures are printed only when the
// comparison ran.
func (p *report) checkStored(ctx context.Context, redis rueidis.Client, keys enrolment.Keys, o options, runStart time.Time) {
	var err error
	p.drainTime, err = waitDrained(ctx, redis, keys, o.drainTimeout)
	if err != nil {
		p.problems = append(p.problems, err.Error())
	}
	if p.deadLetters, err = deadLetters(ctx, redis, keys); err != nil {
		p.problems = append(p.problems, err.Error())
	}
	if p.store, err = checkStore(ctx, o.databaseURL, p.result.receipts, runStart); err != nil {
		p.problems = append(p.problems, err.Error())
		return
	}
	p.verified = true
}

func runBare(o options) (int, error) {
	server, err := startBareServer()
	if err != nil {
		return 0, err
	}
	keyring, err := crypto.NewKeyring(crypto.GenerateKeyring("bare"))
	if err != nil {
		return 0, err
	}
	gen := &generator{population: fixedPopulation(), url: server.url()}
	gen.signTokens(keyring, randomTag(), o.parents)
	client, err := newClient(gen.url, o)
	if err != nil {
		return 0, err
	}
	slog.Info("load starting", "mode", o.mode, "target", gen.url, "connections", o.connections, "duration", o.duration.String())
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return 0, err
	}
	r := runClosed(client, gen, o.connections, o.duration)
	stopProfile()
	r.mode = "bare"
	client.CloseIdleConnections()
	if err := server.close(); err != nil {
		slog.Warn("bare server did not stop cleanly", "error", err)
	}
	(&report{result: r, target: gen.url}).print(os.Stdout)
	return 0, nil
}

// startCPUProfile starts profiling the driver's CPU into path, and returns
// the function that stops it. An empty path profiles nothing.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	file, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(file); err != nil {
		file.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := file.Close(); err != nil {
			slog.Error("CPU profile not written", "file", path, "error", err)
		}
	}, nil
}

func newClient(target string, o options) (*fasthttp.HostClient, error) {
	parsed, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("invalid target %q: %w", target, err)
	}
	return &fasthttp.HostClient{
		Addr:                   parsed.Host,
		Name:                   "loaddriver",
		MaxConns:               o.connections,
		MaxConnWaitTimeout:     o.timeout,
		MaxIdleConnDuration:    time.Minute,
		ReadTimeout:            o.timeout,
		WriteTimeout:           o.timeout,
		MaxResponseBodySize:    1 << 20,
		DisablePathNormalizing: true,
		// A registration is not idempotent: a retried request would be a
		// second submission, so none is retried.
		RetryIfErr: func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
	}, nil
}

// nextChild returns the number of the first child no earlier run used.
func nextChild(ctx context.Context, client rueidis.Client, keys enrolment.Keys) (int64, error) {
	value, err := client.Do(ctx, client.B().Get().Key(nextChildKey(keys)).Build()).AsInt64()
	if rueidis.IsRedisNil(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", nextChildKey(keys), err)
	}
	return value, nil
}

// saveNextChild records where the next run's children start. Two drivers
// running at once against one stack would overlap, and the second run's 409
// responses would show it.
func saveNextChild(ctx context.Context, client rueidis.Client, keys enrolment.Keys, next int64) error {
	return client.Do(ctx, client.B().Set().Key(nextChildKey(keys)).Value(strconv.FormatInt(next, 10)).Build()).Error()
}

func nextChildKey(keys enrolment.Keys) string { return keys.Prefix + "loadtest:next-child" }

func randomTag() string {
	tag := make([]byte, 4)
	if _, err := rand.Read(tag); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return hex.EncodeToString(tag)
}
