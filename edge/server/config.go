// Package server wires the edge: configuration, Redis, the catalogue,
// throttling, sign-in, the enrolment handlers, metrics and the fasthttp
// server. Run is what the edge binary and the tests start.
package server

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/edge/prefill"
	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/formpdf"
	"github.com/sh-preschool/preschool/shared/linkhealth"
)

// Config is the edge's configuration; every key is in the README's table.
type Config struct {
	Listen           string
	OperationsListen string
	PublicURL        string
	RedisAddress     string
	RedisPassword    string `secret:"true"`
	RedisPrefix      string
	RedisTimeout     time.Duration
	KeyringFile      string
	// Crypto selects where sealing happens: CRYPTO_PROVIDER, and for the
	// cloud CRYPTO_SERVICE_URL and the other service keys. Start uses
	// KeyringFile in place of Crypto.KeyringFile.
	Crypto               crypto.ProviderConfig
	LimitsFile           string
	IdentityURL          string
	IdentityClientID     string
	IdentityClientSecret string `secret:"true"`
	CertificatesURL      string
	CertificatesTimeout  time.Duration
	BreakerOpenFor       time.Duration
	// BreakerWindow is the period over which the certificate breaker
	// counts failures; zero means prefill.DefaultBreakerWindow.
	BreakerWindow     time.Duration
	UploadDir         string
	SessionTTL        time.Duration
	SecureCookie      bool
	TrustForwardedFor bool
	Concurrency       int
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ReceiptTTL        time.Duration
	BacklogInterval   time.Duration
	// PDFFonts are the TrueType fonts of the filled-form PDF, in fallback
	// order.
	PDFFonts []string
	// PDFConcurrency bounds the PDFs rendered at once.
	PDFConcurrency int
	// TLSCertFile and TLSKeyFile, both set, make the edge serve TLS 1.3
	// only on Listen, for the hop from nginx.
	TLSCertFile string
	TLSKeyFile  string
	// FeedbackIdleTimeout is how long a form page waits without input
	// before it offers the 办不成事 feedback form.
	FeedbackIdleTimeout time.Duration
	// FeedbackStreamMaxLength caps the feedback stream (MAXLEN ~).
	FeedbackStreamMaxLength int
	// SystemStateInterval is how often the edge writes its heartbeat (host
	// use and link health) for the system state panel.
	SystemStateInterval time.Duration
	// SystemStateDiskPath is a path on the disk whose use the heartbeat
	// reports.
	SystemStateDiskPath string
}

// LoadConfig reads the configuration from the environment.
func LoadConfig(r *config.Reader) (Config, error) {
	c := Config{
		Listen:               r.String("EDGE_LISTEN", "127.0.0.1:8080"),
		OperationsListen:     r.String("EDGE_OPERATIONS_LISTEN", "127.0.0.1:9080"),
		RedisAddress:         r.String("REDIS_ADDR", "127.0.0.1:6379"),
		RedisPassword:        r.String("REDIS_PASSWORD", ""),
		RedisPrefix:          r.String("REDIS_PREFIX", "ps:"),
		RedisTimeout:         r.Duration("EDGE_REDIS_TIMEOUT", 2*time.Second, 10*time.Millisecond),
		KeyringFile:          r.String("CRYPTO_KEYRING_FILE", ""),
		LimitsFile:           r.String("EDGE_LIMITS_FILE", "deploy/limits.toml"),
		IdentityURL:          r.String("IDENTITY_URL", "http://127.0.0.1:7101"),
		IdentityClientID:     r.String("IDENTITY_CLIENT_ID", "preschool-edge"),
		IdentityClientSecret: r.String("IDENTITY_CLIENT_SECRET", "dev-secret"),
		CertificatesURL:      r.String("CERTIFICATES_URL", "http://127.0.0.1:7102"),
		CertificatesTimeout:  r.Duration("CERTIFICATES_TIMEOUT", 800*time.Millisecond, time.Millisecond),
		BreakerOpenFor:       r.Duration("EDGE_BREAKER_OPEN_FOR", 15*time.Second, 100*time.Millisecond),
		BreakerWindow:        r.Duration("EDGE_BREAKER_WINDOW", prefill.DefaultBreakerWindow, time.Second),
		UploadDir:            r.String("EDGE_UPLOAD_DIR", ".run/uploads"),
		SessionTTL:           r.Duration("EDGE_SESSION_TTL", 2*time.Hour, time.Minute),
		SecureCookie:         r.Bool("EDGE_SECURE_COOKIE", false),
		TrustForwardedFor:    r.Bool("EDGE_TRUST_FORWARDED_FOR", false),
		Concurrency:          r.Int("EDGE_CONCURRENCY", 50_000, 100, 1_000_000),
		ReadTimeout:          r.Duration("EDGE_READ_TIMEOUT", 10*time.Second, time.Second),
		WriteTimeout:         r.Duration("EDGE_WRITE_TIMEOUT", 10*time.Second, time.Second),
		IdleTimeout:          r.Duration("EDGE_IDLE_TIMEOUT", 60*time.Second, time.Second),
		ReceiptTTL:           enrolment.ReceiptTTL(r),
		BacklogInterval:      r.Duration("EDGE_BACKLOG_INTERVAL", 250*time.Millisecond, 10*time.Millisecond),
		TLSCertFile:          r.String("EDGE_TLS_CERT_FILE", ""),
		TLSKeyFile:           r.String("EDGE_TLS_KEY_FILE", ""),
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return c, fmt.Errorf("invalid configuration: set both EDGE_TLS_CERT_FILE and EDGE_TLS_KEY_FILE, or neither")
	}
	c.Crypto = crypto.LoadProviderConfig(r)
	c.PublicURL = r.String("EDGE_PUBLIC_URL", "http://"+displayAddress(c.Listen))
	c.PDFConcurrency = r.Int("EDGE_PDF_CONCURRENCY", 2, 1, 64)
	c.FeedbackIdleTimeout = r.Duration("EDGE_FEEDBACK_IDLE_TIMEOUT", 5*time.Minute, time.Second)
	c.FeedbackStreamMaxLength = r.Int("EDGE_FEEDBACK_STREAM_MAX_LENGTH", 100_000, 1_000, 10_000_000)
	c.SystemStateInterval = r.Duration("SYSTEM_STATE_INTERVAL", linkhealth.DefaultInterval, time.Second)
	c.SystemStateDiskPath = r.String("SYSTEM_STATE_DISK_PATH", "/")
	c.PDFFonts = strings.Split(r.String("EDGE_PDF_FONTS", strings.Join(formpdf.DefaultFontPaths, ":")), ":")
	r.Require("CRYPTO_KEYRING_FILE", c.KeyringFile)
	return c, r.Err()
}

// displayAddress turns a listen address into one a browser can open.
func displayAddress(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
