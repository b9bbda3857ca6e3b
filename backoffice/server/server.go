package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/rueidis"
	"github.com/sony/gobreaker/v2"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/drain"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/feedback"
	"github.com/sh-preschool/preschool/backoffice/publish"
	"github.com/sh-preschool/preschool/backoffice/receipts"
	"github.com/sh-preschool/preschool/backoffice/sms"
	"github.com/sh-preschool/preschool/backoffice/verify"
	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/database"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/gatewayauth"
	"github.com/sh-preschool/preschool/shared/linkhealth"
	"github.com/sh-preschool/preschool/shared/redisclient"
)

// BackOffice is a running back office.
type BackOffice struct {
	config    Config
	db        *sqlx.DB
	redis     rueidis.Client
	keys      enrol.Keys
	keyring   *crypto.Keyring
	registry  *prometheus.Registry
	publisher *publish.Publisher
	drainers  []*drain.Drainer
	verifier  *verify.Verifier
	sessions  *access.SessionStore
	devSignIn *access.DevSignIn
	roles     *access.Roles
	integrity *access.Integrity
	// checkpoints signs the audit chain's head every AuditCheckpointInterval.
	checkpoints *audit.Checkpoints
	// gateway verifies the identity headers of the security authentication
	// gateway; nil when certificate sign-in is off.
	gateway  *gatewayauth.Verifier
	trail    *audit.Trail
	names    *enrolment.Names
	listener net.Listener
	server   *http.Server
	cancel   context.CancelFunc
	workers  sync.WaitGroup
	breaker  *prometheus.GaugeVec
	links    *linkhealth.Tracker
}

// Run starts the back office and serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	slog.Info("back office starting", config.Attributes(cfg)...)
	backOffice, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	scheme := "http"
	if cfg.TLSCertFile != "" {
		scheme = "https"
	}
	fmt.Printf("back office listening on %s (admin app: %s://%s/)\n", backOffice.Addr(), scheme, backOffice.Addr())
	<-ctx.Done()
	return backOffice.Close()
}

// Start opens the database (creating and migrating it when needed) and
// Redis, publishes the edge configuration, starts the drainer and verifier,
// and serves HTTP on cfg.Listen.
func Start(ctx context.Context, cfg Config) (*BackOffice, error) {
	keyringConfig := cfg.Crypto
	keyringConfig.KeyringFile = cfg.KeyringFile
	keyring, err := crypto.LoadKeyring(ctx, keyringConfig)
	if err != nil {
		return nil, err
	}
	db, err := OpenDatabase(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns)
	if err != nil {
		return nil, err
	}
	redis, err := redisclient.Open(ctx, redisclient.Options{
		Address: cfg.RedisAddress, Password: cfg.RedisPassword, BlockingPoolSize: cfg.DrainConsumers + 3,
	})
	if err != nil {
		db.Close()
		return nil, err
	}

	b := &BackOffice{
		config:   cfg,
		db:       db,
		redis:    redis,
		keys:     enrol.Keys{Prefix: cfg.RedisPrefix},
		keyring:  keyring,
		registry: prometheus.NewRegistry(),
		links:    linkhealth.NewTracker(nil),
	}
	b.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	b.breaker = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "backoffice_breaker_state", Help: "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
	}, []string{"name"})
	b.registry.MustRegister(b.breaker)
	b.publisher = &publish.Publisher{DB: db, Redis: redis, Keys: b.keys, Now: time.Now}

	if b.names, err = enrolment.LoadNames(ctx, db); err != nil {
		b.closeClients()
		return nil, fmt.Errorf("load names: %w", err)
	}
	b.sessions = &access.SessionStore{
		Redis: redis, Prefix: cfg.RedisPrefix, IdleTimeout: cfg.IdleTimeout, MaxLifetime: cfg.SessionTTL,
		SecureCookie: cfg.SecureCookie, Now: time.Now,
	}
	b.trail = &audit.Trail{DB: db, Now: time.Now}
	if b.integrity, err = NewIntegrity(ctx, cfg.Crypto, db, b.trail); err != nil {
		b.closeClients()
		return nil, err
	}
	b.sessions.Integrity = b.integrity
	b.checkpoints = &audit.Checkpoints{DB: db, Provider: b.integrity.Provider}
	if cfg.GatewayPublicKeyFile != "" {
		publicKey, err := crypto.LoadSM2PublicKeyFile(cfg.GatewayPublicKeyFile)
		if err != nil {
			b.closeClients()
			return nil, fmt.Errorf("GATEWAY_PUBLIC_KEY_FILE: %w", err)
		}
		b.gateway = &gatewayauth.Verifier{KeyID: cfg.GatewayKeyID, PublicKey: publicKey, MaxSkew: cfg.GatewayMaxSkew}
	}
	b.roles = &access.Roles{DB: db, Integrity: b.integrity}
	b.devSignIn = &access.DevSignIn{Enabled: cfg.DevSignIn, Sessions: b.sessions, Roles: b.roles, KnownDistrict: b.districtName}
	if _, err := b.publisher.Publish(ctx); err != nil {
		b.closeClients()
		return nil, err
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.cancel = cancel
	b.goWorker(func() { b.checkIntegrity(runCtx) })
	b.goWorker(func() { b.writeCheckpoints(runCtx) })
	b.goWorker(func() { b.heartbeat().Run(runCtx) })
	if cfg.Workers {
		if err := b.startWorkers(runCtx); err != nil {
			cancel()
			b.closeClients()
			return nil, err
		}
	}

	listener, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	b.listener = listener
	b.server = &http.Server{
		Handler:           b.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      5 * time.Minute, // exports stream for a while
		IdleTimeout:       2 * time.Minute,
	}
	if cfg.TLSCertFile != "" {
		certificate, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("BACKOFFICE_TLS_CERT_FILE, BACKOFFICE_TLS_KEY_FILE: %w", err)
		}
		b.server.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{certificate}}
		listener = tls.NewListener(listener, b.server.TLSConfig)
	}
	go func() {
		if err := b.server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("back office server stopped", "error", err)
		}
	}()
	return b, nil
}

func (b *BackOffice) districtName(code string) (string, bool) {
	name, ok := b.names.Districts[code]
	return name, ok
}

// OpenDatabase creates the database if it is missing, connects and applies
// the migrations.
func OpenDatabase(ctx context.Context, databaseURL string, maxConns int) (*sqlx.DB, error) {
	if err := database.EnsureDatabase(ctx, databaseURL); err != nil {
		return nil, err
	}
	db, err := database.Open(ctx, databaseURL, database.Options{MaxOpenConns: maxConns, MaxIdleConns: maxConns})
	if err != nil {
		return nil, err
	}
	if err := database.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (b *BackOffice) startWorkers(ctx context.Context) error {
	store := &enrolment.Store{DB: b.db}
	metrics := drain.NewMetrics(b.registry)
	restorer := receipts.New(b.db, b.redis, b.keys, b.config.ReceiptTTL, b.registry)
	b.goWorker(func() { restorer.Run(ctx) })
	for i := range b.config.DrainConsumers {
		drainer := drain.New(b.redis, b.keys, store, drain.Config{
			Consumer:      b.config.DrainConsumer + "-" + strconv.Itoa(i),
			BatchSize:     b.config.DrainBatchSize,
			Block:         b.config.DrainBlock,
			Linger:        b.config.DrainLinger,
			ClaimIdle:     b.config.DrainClaimIdle,
			ClaimInterval: b.config.DrainClaimInterval,
			MaxDeliveries: b.config.DrainMaxDeliveries,
			TrimInterval:  b.config.DrainTrimInterval,
			ReceiptTTL:    b.config.ReceiptTTL,
		}, metrics)
		drainer.OnLostWrites = restorer.Trigger
		if err := drainer.EnsureGroup(ctx); err != nil {
			return err
		}
		b.drainers = append(b.drainers, drainer)
		b.goWorker(func() {
			if err := drainer.Run(ctx); err != nil {
				slog.Error("drainer stopped", "error", err)
			}
		})
	}

	b.breaker.WithLabelValues("data_api").Set(0)
	b.verifier = verify.New(b.db, b.redis, b.keys, b.keyring, verify.Config{
		DataAPIURL: b.config.DataAPIURL, Timeout: b.config.DataAPITimeout, Interval: b.config.VerifyInterval,
		BatchSize: b.config.VerifyBatchSize, MaxAttempts: b.config.VerifyMaxAttempts, Deadline: b.config.VerifyDeadline,
		BreakerOpenFor: b.config.VerifyBreakerOpenFor, Rate: float64(b.config.VerifyRate),
	}, func(name string, _, to gobreaker.State) { b.breaker.WithLabelValues(name).Set(float64(to)) })
	b.links.Wrap(b.verifier.HTTPClient(), linkhealth.LinkDataAPI)
	b.links.Register(linkhealth.LinkDataAPI, b.verifier.State)
	b.goWorker(func() { b.verifier.Run(ctx) })

	sender := sms.NewSender(b.db, b.keyring, sms.SenderConfig{
		URL: b.config.SMSAPIURL, Timeout: b.config.SMSTimeout, Interval: b.config.SMSInterval,
		BatchSize: b.config.SMSBatchSize, Backoff: b.config.SMSBackoff, MaxBackoff: b.config.SMSMaxBackoff,
		ReceiptDelay: b.config.SMSReceiptDelay, ReceiptWindow: 24 * time.Hour,
	})
	b.links.Wrap(sender.Client, linkhealth.LinkSMS)
	b.links.Register(linkhealth.LinkSMS, nil)
	b.goWorker(func() { sender.Run(ctx) })

	// The notifier starts a day back, so applications stored shortly
	// before a restart still get their message. The outbox's unique index
	// keeps those already queued from getting a second one.
	notifier := &sms.Notifier{
		DB: b.db, Keyring: b.keyring, DistrictName: b.districtName, Interval: b.config.SMSInterval,
		BatchSize: b.config.SMSBatchSize, Since: time.Now().Add(-24 * time.Hour),
	}
	b.goWorker(func() { notifier.Run(ctx) })

	intake := &feedback.Intake{
		DB: b.db, Redis: b.redis, Prefix: b.config.RedisPrefix, Consumer: b.config.DrainConsumer,
		BatchSize: 100, Block: time.Second, ClaimIdle: time.Minute,
	}
	b.goWorker(func() { intake.Run(ctx) })
	forwarder := feedback.NewForwarder(b.db, b.keyring, feedback.ForwarderConfig{
		URL: b.config.RatingAPIURL, Timeout: b.config.RatingTimeout, Interval: b.config.RatingInterval, BatchSize: 50,
		Backoff: b.config.RatingBackoff, MaxBackoff: b.config.RatingMaxBackoff, MaxAttempts: b.config.RatingMaxAttempts,
		Concurrency: b.config.RatingConcurrency,
	})
	b.links.Wrap(forwarder.Client, linkhealth.LinkRating)
	b.links.Register(linkhealth.LinkRating, nil)
	b.goWorker(func() { forwarder.Run(ctx) })
	return nil
}

func (b *BackOffice) goWorker(work func()) {
	b.workers.Add(1)
	go func() {
		defer b.workers.Done()
		work()
	}()
}

// Addr returns the address the back office listens on.
func (b *BackOffice) Addr() string { return b.listener.Addr().String() }

// DB returns the database handle, for tests.
func (b *BackOffice) DB() *sqlx.DB { return b.db }

// Router returns the router the back office serves, so tests can list every
// route with chi.Walk.
func (b *BackOffice) Router() chi.Routes { return b.server.Handler.(chi.Routes) }

// Close stops serving, stops the workers and closes the connections.
func (b *BackOffice) Close() error {
	var err error
	if b.server != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = b.server.Shutdown(shutdownCtx)
		cancel()
	}
	if b.cancel != nil {
		b.cancel()
	}
	b.workers.Wait()
	b.closeClients()
	return err
}

func (b *BackOffice) closeClients() {
	b.redis.Close()
	b.db.Close()
}
