package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/edge/catalogue"
	"github.com/sh-preschool/preschool/edge/feedback"
	"github.com/sh-preschool/preschool/edge/prefill"
	"github.com/sh-preschool/preschool/edge/signin"
	"github.com/sh-preschool/preschool/edge/submit"
	"github.com/sh-preschool/preschool/edge/throttle"
	"github.com/sh-preschool/preschool/edge/visits"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/formpdf"
	"github.com/sh-preschool/preschool/shared/linkhealth"
	"github.com/sh-preschool/preschool/shared/redisclient"
)

// Edge is a running edge server.
type Edge struct {
	listener   net.Listener
	server     *fasthttp.Server
	operations *fasthttp.Server
	opsListen  net.Listener
	redis      rueidis.Client
	cancel     context.CancelFunc
	done       chan error
	workers    sync.WaitGroup

	config    Config
	keys      enrolment.Keys
	keyring   *crypto.Keyring
	catalogue *catalogue.Store
	throttle  *throttle.Throttle
	metrics   *metrics
	submit    *submit.Handlers
	signin    *signin.Service
	prefill   *prefill.Handlers
	uploads   *prefill.Uploads
	feedback  *feedback.Handlers
	visits    *visits.Handlers
	links     *linkhealth.Tracker
	requestID atomic.Uint64
	idPrefix  string
}

// Run starts the edge and serves until ctx ends, then shuts down
// gracefully.
func Run(ctx context.Context, cfg Config) error {
	slog.Info("edge starting", config.Attributes(cfg)...)
	edge, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("edge listening on %s (parents' page: %s/), metrics on http://%s/metrics\n", edge.Addr(), cfg.PublicURL, edge.OperationsAddr())
	<-ctx.Done()
	return edge.Close()
}

// Start connects to Redis, loads keys and limits, and starts serving on
// cfg.Listen (port 0 picks a free port; see Addr).
func Start(ctx context.Context, cfg Config) (*Edge, error) {
	keyringConfig := cfg.Crypto
	keyringConfig.KeyringFile = cfg.KeyringFile
	keyring, err := crypto.LoadKeyring(ctx, keyringConfig)
	if err != nil {
		return nil, err
	}
	limits, err := throttle.LoadFile(cfg.LimitsFile, throttledRoutes())
	if err != nil {
		return nil, fmt.Errorf("EDGE_LIMITS_FILE %s: %w", cfg.LimitsFile, err)
	}
	redis, err := redisclient.Open(ctx, redisclient.Options{Address: cfg.RedisAddress, Password: cfg.RedisPassword})
	if err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		redis.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	if cfg.TLSCertFile != "" {
		certificate, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			listener.Close()
			redis.Close()
			return nil, fmt.Errorf("EDGE_TLS_CERT_FILE, EDGE_TLS_KEY_FILE: %w", err)
		}
		listener = tls.NewListener(listener, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{certificate}})
	}
	operationsListener, err := net.Listen("tcp", cfg.OperationsListen)
	if err != nil {
		listener.Close()
		redis.Close()
		return nil, fmt.Errorf("EDGE_OPERATIONS_LISTEN %s: %w", cfg.OperationsListen, err)
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &Edge{
		listener:  listener,
		opsListen: operationsListener,
		redis:     redis,
		cancel:    cancel,
		done:      make(chan error, 1),
		config:    cfg,
		keys:      enrolment.Keys{Prefix: cfg.RedisPrefix},
		keyring:   keyring,
		throttle:  throttle.New(limits),
		idPrefix:  randomPrefix(),
		links:     linkhealth.NewTracker(nil),
	}
	e.metrics = newMetrics(func() float64 { return float64(e.throttle.TrackedClients()) })
	e.recordLimits(limits)
	e.catalogue = catalogue.NewStore(redis, e.keys)
	now := time.Now

	if submit.PlaintextBuild {
		slog.Warn("this edge was built with the benchplaintext tag and stores personal data UNENCRYPTED; use it only for the sealing-cost benchmark")
	}
	service := &submit.Service{
		Redis: redis, Keys: e.keys, Keyring: keyring, Catalogue: e.catalogue,
		Now: now, ReceiptTTL: cfg.ReceiptTTL, Timeout: cfg.RedisTimeout,
	}
	e.submit = &submit.Handlers{
		Service:   service,
		PDF:       &formpdf.Renderer{FontPaths: cfg.PDFFonts},
		PDFSlots:  submit.NewPDFLimiter(cfg.PDFConcurrency),
		OnPDFBusy: func() { e.metrics.throttled.WithLabelValues("pdf").Inc() },
		Observe:   e.observeSubmission,
		Admit:     e.admitEntry,
	}
	e.signin = signin.New(signin.Config{
		IdentityURL: cfg.IdentityURL, ClientID: cfg.IdentityClientID, ClientSecret: cfg.IdentityClientSecret,
		PublicURL: cfg.PublicURL, Sealer: keyring, SessionTTL: cfg.SessionTTL,
		Revocations:  &signin.RedisRevocations{Redis: redis, Prefix: cfg.RedisPrefix, Timeout: cfg.RedisTimeout},
		SecureCookie: cfg.SecureCookie, Now: now,
		HTTPClient: e.links.Wrap(&http.Client{Timeout: signin.DefaultTimeout}, linkhealth.LinkIdentity),
	})
	e.prefill = &prefill.Handlers{
		Client:  prefill.NewClient(cfg.CertificatesURL, cfg.CertificatesTimeout, cfg.BreakerOpenFor, cfg.BreakerWindow, e.metrics.breakerChanged),
		Keyring: keyring,
		Now:     now,
		Observe: func(result string) { e.metrics.prefill.WithLabelValues(result).Inc() },
		Admit: func(ctx *fasthttp.RequestCtx, subject string) error {
			if decision := e.throttle.Prefill(subject); !decision.Allowed {
				return e.rejected(ctx, decision)
			}
			return nil
		},
		Counter:       &prefill.CallCounter{Redis: redis, Keys: e.keys, Timeout: cfg.RedisTimeout},
		DistrictKnown: e.districtKnown,
	}
	e.metrics.breaker.WithLabelValues("certificates").Set(0)
	e.links.Wrap(e.prefill.Client.HTTPClient(), linkhealth.LinkCertificates)
	e.links.Register(linkhealth.LinkCertificates, func() string { return e.prefill.Client.State().String() })
	e.links.Register(linkhealth.LinkStream, nil)
	e.links.Register(linkhealth.LinkIdentity, nil)
	e.visits = e.newVisits()
	e.uploads = &prefill.Uploads{Dir: cfg.UploadDir, Keyring: keyring}
	service.UploadExists = e.uploads.Exists
	service.UploadInfo = e.uploads.Info
	e.feedback = &feedback.Handlers{
		Redis: redis, Keyring: keyring, Prefix: cfg.RedisPrefix, StreamMaxLength: int64(cfg.FeedbackStreamMaxLength),
		IdleTimeout: cfg.FeedbackIdleTimeout, Timeout: cfg.RedisTimeout, Now: now,
		DistrictKnown: e.districtKnown,
	}

	if err := e.catalogue.Refresh(ctx); err != nil {
		slog.Warn("no configuration snapshot yet; the edge is not ready until the back office publishes one", "error", err)
	}
	e.startWorkers(runCtx)

	e.server = &fasthttp.Server{
		Handler:               e.routes(),
		Name:                  "edge",
		NoDefaultServerHeader: true,
		MaxRequestBodySize:    prefill.MaxUploadBytes + 64<<10,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		Concurrency:           cfg.Concurrency,
		ErrorHandler:          e.transportError,
		Logger:                fasthttpLogger{},
	}
	e.operations = &fasthttp.Server{
		Handler: e.operationsRoutes(), Name: "edge-operations", NoDefaultServerHeader: true,
		ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, Logger: fasthttpLogger{},
	}
	go func() { e.done <- e.server.Serve(listener) }()
	go func() {
		if err := e.operations.Serve(operationsListener); err != nil {
			slog.Error("operations listener stopped", "error", err)
		}
	}()
	return e, nil
}

// OperationsAddr returns the address of the operators' listener (metrics
// and probes).
func (e *Edge) OperationsAddr() string { return e.opsListen.Addr().String() }

// Addr returns the address the edge listens on.
func (e *Edge) Addr() string { return e.listener.Addr().String() }

// Close stops accepting requests, waits for those in flight, and stops the
// background work.
func (e *Edge) Close() error {
	err := e.server.ShutdownWithContext(context.Background())
	e.operations.ShutdownWithContext(context.Background())
	e.cancel()
	e.workers.Wait()
	e.redis.Close()
	if serveErr := <-e.done; serveErr != nil && err == nil {
		err = serveErr
	}
	return err
}

func (e *Edge) startWorkers(ctx context.Context) {
	e.goWorker(func() { e.catalogue.Run(ctx) })
	e.goWorker(func() {
		throttle.WatchFile(ctx, e.config.LimitsFile, throttledRoutes(), e.throttle, 2*time.Second, func(result string, _ error) {
			e.metrics.reloads.WithLabelValues(result).Inc()
			if result == throttle.ReloadApplied {
				e.recordLimits(e.throttle.Limits())
			}
		})
	})
	e.goWorker(func() { e.pollBacklog(ctx) })
	e.goWorker(func() { e.heartbeat().Run(ctx) })
	e.goWorker(func() {
		ticker := time.NewTicker(30 * time.Second)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-ticker.C:
				e.throttle.SweepIdle(now)
			}
		}
	})
}

func (e *Edge) goWorker(work func()) {
	e.workers.Add(1)
	go func() {
		defer e.workers.Done()
		work()
	}()
}

func (e *Edge) recordLimits(limits *throttle.Limits) {
	e.metrics.limitRate.Reset()
	for name, bucket := range limits.Routes {
		e.metrics.limitRate.WithLabelValues("route", name).Set(bucket.Rate)
	}
	for name, bucket := range limits.Entries {
		e.metrics.limitRate.WithLabelValues("entry", name).Set(bucket.Rate)
	}
	e.metrics.limitRate.WithLabelValues("client", "each").Set(limits.Clients.Rate)
}

// pollBacklog reads how many stream entries the back office has not yet
// stored (the group's lag plus its pending entries) for load shedding.
func (e *Edge) pollBacklog(ctx context.Context) {
	ticker := time.NewTicker(e.config.BacklogInterval)
	defer ticker.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		backlog, err := e.readBacklog(ctx)
		if err != nil {
			if failures++; failures == 1 || failures%100 == 0 {
				slog.Warn("stream backlog unreadable", "error", err, "failures", failures)
			}
			continue
		}
		failures = 0
		e.throttle.SetBacklog(backlog)
		e.metrics.backlog.Set(float64(backlog))
	}
}

func (e *Edge) readBacklog(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	groups, err := e.redis.Do(ctx, e.redis.B().XinfoGroups().Key(e.keys.Stream()).Build()).ToArray()
	if err != nil {
		if rueidis.IsRedisNil(err) || isNoSuchKey(err) {
			return 0, nil
		}
		return 0, err
	}
	for _, group := range groups {
		fields, err := group.AsMap()
		if err != nil {
			return 0, err
		}
		name, pending, lag := fields["name"], fields["pending"], fields["lag"]
		if groupName, _ := name.ToString(); groupName != e.keys.ConsumerGroup() {
			continue
		}
		pendingCount, _ := pending.AsInt64()
		lagCount, err := lag.AsInt64()
		if err != nil {
			// Redis reports no lag after some deletions; the stream length
			// is an upper bound then.
			lagCount, err = e.redis.Do(ctx, e.redis.B().Xlen().Key(e.keys.Stream()).Build()).AsInt64()
			if err != nil {
				return 0, err
			}
		}
		return lagCount + pendingCount, nil
	}
	// No group yet: the back office has not started, every entry waits.
	return e.redis.Do(ctx, e.redis.B().Xlen().Key(e.keys.Stream()).Build()).AsInt64()
}

// isNoSuchKey reports whether Redis answered that the stream does not
// exist; Redis 7 words it "ERR no such key", rueidis may drop the prefix.
func isNoSuchKey(err error) bool {
	var redisErr *rueidis.RedisError
	return errors.As(err, &redisErr) && strings.Contains(strings.ToLower(redisErr.Error()), "no such key")
}

func randomPrefix() string {
	prefix := make([]byte, 4)
	if _, err := rand.Read(prefix); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return hex.EncodeToString(prefix)
}

func (e *Edge) transportError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		// The request line has been read, so the path is known. An upload's
		// limit is the file size, which is what the parent can change.
		if string(ctx.Path()) == uploadPath {
			api.WriteError(ctx, prefill.ErrFileTooLarge)
			return
		}
		api.WriteError(ctx, apierror.ErrBodyTooLarge)
		return
	}
	api.WriteJSON(ctx, http.StatusBadRequest, map[string]any{"error": apierror.New(http.StatusBadRequest, "bad_request", "请求格式不正确，请刷新页面后重试。")})
}

type fasthttpLogger struct{}

func (fasthttpLogger) Printf(format string, args ...any) {
	slog.Warn("fasthttp: " + fmt.Sprintf(format, args...))
}

// districtKnown reports whether a district code is one of the current
// catalogue's, and false before the first snapshot.
func (e *Edge) districtKnown(code string) bool {
	current := e.catalogue.Current()
	if current == nil {
		return false
	}
	_, ok := current.District(code)
	return ok
}
