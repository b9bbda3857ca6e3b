// Package simulators starts the simulators of the big-data centre's
// services in one process: unified identity sign-in, the certificate API
// and the data API. Tests of the edge and the back office start them
// in-process with Start; the simulators command runs them standalone.
package simulators

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sh-preschool/preschool/simulators/certificates"
	"github.com/sh-preschool/preschool/simulators/cryptoservice"
	"github.com/sh-preschool/preschool/simulators/dataapi"
	"github.com/sh-preschool/preschool/simulators/fault"
	"github.com/sh-preschool/preschool/simulators/gateway"
	"github.com/sh-preschool/preschool/simulators/identity"
	"github.com/sh-preschool/preschool/simulators/rating"
	"github.com/sh-preschool/preschool/simulators/sms"
)

// Service names accepted by Running.SetFault and Running.Stats.
const (
	ServiceIdentity     = "identity"
	ServiceCertificates = "certificates"
	ServiceData         = "data"
	ServiceCrypto       = "crypto"
	ServiceSMS          = "sms"
	ServiceRating       = "rating"
)

// DefaultCryptoAPIKey is the API key the cryptography service simulator
// accepts when Config.CryptoAPIKey is empty.
const DefaultCryptoAPIKey = "sim-crypto-key"

// CryptoSealingKeyID is the ID of the cryptography service simulator's
// sealing (master) key, for CRYPTO_SEALING_KEY_ID.
const CryptoSealingKeyID = "sim-k1"

// shutdownGrace is how long Close lets in-flight requests finish before it
// cancels them, which also ends requests held by the "hang" failure mode.
const shutdownGrace = 2 * time.Second

// Config configures Start.
type Config struct {
	// IdentityAddr, CertificatesAddr and DataAddr are TCP listen addresses;
	// empty means "127.0.0.1:0", a free port on the loopback interface.
	IdentityAddr     string
	CertificatesAddr string
	DataAddr         string
	CryptoAddr       string
	SMSAddr          string
	RatingAddr       string

	// Identity, Certificates, Data and Crypto are the initial fault settings.
	Identity     fault.Config
	Certificates fault.Config
	Data         fault.Config
	Crypto       fault.Config
	SMS          fault.Config
	Rating       fault.Config

	// SMSDeliveryDelay is how long after acceptance the SMS simulator
	// reports a message delivered.
	SMSDeliveryDelay time.Duration

	// GatewayAddr is the security authentication gateway's TLS listen
	// address and GatewayUpstream the URL it forwards to. The gateway starts
	// only when GatewayUpstream is set. GatewayDir receives its CA, public
	// key and a demo client certificate (see gateway.Options).
	GatewayAddr     string
	GatewayUpstream string
	GatewayDir      string

	// CryptoAPIKey is the key the cryptography service simulator accepts;
	// empty means DefaultCryptoAPIKey.
	CryptoAPIKey string

	// ClientID and ClientSecret are the identity simulator's only client;
	// empty means identity.DefaultClientID and identity.DefaultClientSecret.
	ClientID     string
	ClientSecret string
	// IdentityRedirectHosts lists host names accepted in redirect_uri
	// besides loopback hosts.
	IdentityRedirectHosts []string

	// Seed makes the fault decisions reproducible; each service derives its
	// own seed from it. Zero picks random seeds.
	Seed uint64

	// Logger receives the simulators' logs; nil means slog.Default().
	Logger *slog.Logger
}

// Running is a set of started simulators.
type Running struct {
	IdentityURL     string
	CertificatesURL string
	DataURL         string
	CryptoURL       string
	SMSURL          string
	RatingURL       string

	// SMS is the SMS simulator, so tests can count the messages it accepted.
	SMS *sms.Server
	// Rating is the service-rating (好差评) simulator, so tests can count
	// the reports it received.
	Rating *rating.Server
	// GatewayURL is the gateway's https URL, empty when it did not start.
	GatewayURL string
	// Gateway is the running gateway simulator, or nil.
	Gateway *gateway.Gateway

	services map[string]*service
	logger   *slog.Logger
	// cancelRequests cancels the base context of every request.
	cancelRequests context.CancelFunc
	closed         chan struct{}
	closeOnce      sync.Once
	closeErr       error
}

type service struct {
	name     string
	url      string
	injector *fault.Injector
	server   *http.Server
	listener net.Listener
	served   chan struct{}
}

// Start listens on the configured addresses and serves the three simulators
// until ctx is done or Close is called. It returns an error, with nothing
// left running, when a fault configuration is invalid or an address cannot
// be listened on.
func Start(ctx context.Context, cfg Config) (*Running, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}

	requestContext, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	running := &Running{
		services:       make(map[string]*service, 4),
		logger:         logger,
		cancelRequests: cancelRequests,
		closed:         make(chan struct{}),
	}

	cryptoProvider, err := cryptoservice.GenerateProvider(CryptoSealingKeyID, "sim-s1")
	if err != nil {
		cancelRequests()
		return nil, err
	}
	cryptoAPIKey := cfg.CryptoAPIKey
	if cryptoAPIKey == "" {
		cryptoAPIKey = DefaultCryptoAPIKey
	}
	running.SMS = sms.NewServer(sms.Options{DeliveryDelay: cfg.SMSDeliveryDelay, Logger: logger})
	running.Rating = rating.NewServer(rating.Options{Logger: logger})
	definitions := []struct {
		name    string
		addr    string
		faults  fault.Config
		handler http.Handler
	}{
		{ServiceIdentity, cfg.IdentityAddr, cfg.Identity, identity.NewServer(identity.Options{
			ClientID:      cfg.ClientID,
			ClientSecret:  cfg.ClientSecret,
			RedirectHosts: cfg.IdentityRedirectHosts,
			Logger:        logger,
		})},
		{ServiceCertificates, cfg.CertificatesAddr, cfg.Certificates, certificates.NewHandler(logger)},
		{ServiceData, cfg.DataAddr, cfg.Data, dataapi.NewHandler(logger)},
		{ServiceCrypto, cfg.CryptoAddr, cfg.Crypto, cryptoservice.NewHandler(cryptoProvider, cryptoAPIKey)},
		{ServiceSMS, cfg.SMSAddr, cfg.SMS, running.SMS.Handler()},
		{ServiceRating, cfg.RatingAddr, cfg.Rating, running.Rating.Handler()},
	}
	for _, definition := range definitions {
		started, err := startService(ctx, requestContext, logger, definition.name, definition.addr, definition.faults, serviceSeed(cfg.Seed, definition.name), definition.handler)
		if err != nil {
			_ = running.Close()
			return nil, err
		}
		running.services[definition.name] = started
	}
	running.IdentityURL = running.services[ServiceIdentity].url
	running.CertificatesURL = running.services[ServiceCertificates].url
	running.DataURL = running.services[ServiceData].url
	running.CryptoURL = running.services[ServiceCrypto].url
	running.SMSURL = running.services[ServiceSMS].url
	running.RatingURL = running.services[ServiceRating].url
	if cfg.GatewayUpstream != "" {
		running.Gateway, err = gateway.Start(ctx, gateway.Options{
			Addr: cfg.GatewayAddr, Upstream: cfg.GatewayUpstream, Dir: cfg.GatewayDir, Logger: logger.With("service", "gateway"),
		})
		if err != nil {
			_ = running.Close()
			return nil, err
		}
		running.GatewayURL = running.Gateway.URL
	}

	go func() {
		select {
		case <-ctx.Done():
			_ = running.Close()
		case <-running.closed:
		}
	}()
	return running, nil
}

func startService(ctx, requestContext context.Context, logger *slog.Logger, name, addr string, faults fault.Config, seed uint64, handler http.Handler) (*service, error) {
	injector, err := fault.New(faults, fault.Options{Name: name, Seed: seed, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("%s simulator: %w", name, err)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var listenConfig net.ListenConfig
	listener, err := listenConfig.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s simulator: listen on %s: %w", name, addr, err)
	}

	serviceLogger := logger.With("service", name)
	started := &service{
		name:     name,
		url:      listenerURL(listener.Addr()),
		injector: injector,
		listener: listener,
		served:   make(chan struct{}),
		server: &http.Server{
			Handler:           injector.Handler(handler),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(serviceLogger.Handler(), slog.LevelWarn),
			BaseContext:       func(net.Listener) context.Context { return requestContext },
		},
	}

	go func() {
		defer close(started.served)
		if err := started.server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			serviceLogger.Error("simulator stopped serving", "error", err)
		}
	}()
	serviceLogger.Info("simulator listening", "url", started.url, "fault", injector.Config())
	return started, nil
}

// listenerURL returns the http URL of a listener, with an unspecified
// address (0.0.0.0 or ::) replaced by 127.0.0.1 so that the URL is dialable.
func listenerURL(addr net.Addr) string {
	tcpAddr, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := tcpAddr.IP.String()
	if tcpAddr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcpAddr.Port))
}

// serviceSeed derives a per-service seed, so that two services with the same
// failure rate do not fail on the same requests. Zero stays zero (random).
func serviceSeed(seed uint64, name string) uint64 {
	if seed == 0 {
		return 0
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", seed, name)
	if derived := h.Sum64(); derived != 0 {
		return derived
	}
	return 1
}

// SetFault replaces the fault configuration of a service ("identity",
// "certificates" or "data") for the requests that arrive from now on. It
// returns an error for an unknown service or an invalid configuration.
func (r *Running) SetFault(serviceName string, cfg fault.Config) error {
	s, err := r.service(serviceName)
	if err != nil {
		return err
	}
	return s.injector.SetConfig(cfg)
}

// Stats returns the fault counters and configuration of a service. It
// returns an error for an unknown service.
func (r *Running) Stats(serviceName string) (fault.Stats, error) {
	s, err := r.service(serviceName)
	if err != nil {
		return fault.Stats{}, err
	}
	return s.injector.Stats(), nil
}

func (r *Running) service(name string) (*service, error) {
	s, ok := r.services[name]
	if !ok {
		return nil, fmt.Errorf("unknown simulator %q: want %q, %q, %q, %q or %q", name, ServiceIdentity, ServiceCertificates, ServiceData, ServiceCrypto, ServiceSMS)
	}
	return s, nil
}

// Close stops the simulators. In-flight requests get up to 2 seconds to
// finish before they are cancelled and their connections closed. Close is
// safe to call more than once and returns the first call's error.
func (r *Running) Close() error {
	r.closeOnce.Do(func() {
		close(r.closed)

		errs := make([]error, 0, len(r.services))
		var errsMu sync.Mutex
		var wait sync.WaitGroup
		for _, s := range r.services {
			wait.Go(func() {
				if err := r.stop(s); err != nil {
					errsMu.Lock()
					errs = append(errs, err)
					errsMu.Unlock()
				}
			})
		}
		if r.Gateway != nil {
			wait.Go(func() {
				if err := r.Gateway.Close(); err != nil {
					errsMu.Lock()
					errs = append(errs, fmt.Errorf("stop gateway simulator: %w", err))
					errsMu.Unlock()
				}
			})
		}
		wait.Wait()
		r.cancelRequests()
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

func (r *Running) stop(s *service) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()

	err := s.server.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		r.logger.Warn("simulator shutdown grace expired, closing connections", "service", s.name)
		err = s.server.Close()
	}
	<-s.served
	r.logger.Info("simulator stopped", "service", s.name)
	if err != nil {
		return fmt.Errorf("stop %s simulator: %w", s.name, err)
	}
	return nil
}
