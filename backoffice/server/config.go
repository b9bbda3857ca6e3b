// Package server wires the back office: configuration, PostgreSQL, Redis,
// the drainer, the verifier, the snapshot publisher and the chi router.
// Start is what the back-office binary and the tests run.
package server

import (
	"fmt"
	"os"
	"time"

	"github.com/sh-preschool/preschool/backoffice/staff"
	"github.com/sh-preschool/preschool/shared/config"
	"github.com/sh-preschool/preschool/shared/crypto"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/linkhealth"
)

// Config is the back office's configuration; every key is in the README's
// table.
type Config struct {
	Listen           string
	DatabaseURL      string `secret:"true"`
	DatabaseMaxConns int
	RedisAddress     string
	RedisPassword    string `secret:"true"`
	RedisPrefix      string
	KeyringFile      string
	// UploadDir is the edge's upload folder (EDGE_UPLOAD_DIR), mounted here
	// so reviewers can open the certificate files of records.
	UploadDir      string
	DataAPIURL     string
	DataAPITimeout time.Duration
	DevSignIn      bool
	SecureCookie   bool
	SessionTTL     time.Duration
	IdleTimeout    time.Duration
	// LoginAttemptsPerMinute bounds password sign-in attempts per client
	// address.
	LoginAttemptsPerMinute int
	DrainConsumer          string
	DrainConsumers         int
	DrainBatchSize         int
	DrainBlock             time.Duration
	DrainLinger            time.Duration
	DrainClaimIdle         time.Duration
	DrainClaimInterval     time.Duration
	DrainMaxDeliveries     int
	DrainTrimInterval      time.Duration
	ReceiptTTL             time.Duration
	VerifyInterval         time.Duration
	VerifyBatchSize        int
	VerifyMaxAttempts      int
	VerifyDeadline         time.Duration
	VerifyBreakerOpenFor   time.Duration
	VerifyRate             int
	SMSAPIURL              string
	SMSTimeout             time.Duration
	SMSInterval            time.Duration
	SMSBatchSize           int
	SMSBackoff             time.Duration
	SMSMaxBackoff          time.Duration
	SMSReceiptDelay        time.Duration
	RatingAPIURL           string
	RatingTimeout          time.Duration
	RatingInterval         time.Duration
	RatingBackoff          time.Duration
	RatingMaxBackoff       time.Duration
	RatingMaxAttempts      int
	RatingConcurrency      int
	// Workers turns the drainer and verifier off when false, for a replica
	// that only serves pages.
	Workers bool
	// DashboardCacheTTL is how long dashboard panels serve a response from
	// Redis; 0 turns the cache off.
	DashboardCacheTTL time.Duration
	// Crypto selects the cryptography provider whose SM2 key signs the
	// access-control rows and the audit checkpoints
	// (CRYPTO_SIGNING_KEY_FILE and CRYPTO_SIGNING_KEY_ID are required), and
	// with CRYPTO_PROVIDER=cloud the service whose data keys seal personal
	// data (crypto.LoadKeyring).
	Crypto crypto.ProviderConfig
	// IntegrityInterval is how often every role and account signature is
	// checked in the background.
	IntegrityInterval time.Duration
	// AuditCheckpointInterval is how often the audit chain's head is
	// signed with SM2.
	AuditCheckpointInterval time.Duration
	// GatewayPublicKeyFile is the security authentication gateway's SM2
	// public key (PEM) and GatewayKeyID its key ID. Empty turns
	// certificate sign-in off.
	GatewayPublicKeyFile string
	GatewayKeyID         string
	// GatewayMaxSkew bounds the age of a gateway-signed identity.
	GatewayMaxSkew time.Duration
	// TLSCertFile and TLSKeyFile, both set, make the back office serve TLS
	// 1.3 only, for the hop from nginx or the gateway.
	TLSCertFile string
	TLSKeyFile  string
	// SystemStateInterval is how often the back office writes its heartbeat
	// (host use and link health) for the system state panel.
	SystemStateInterval time.Duration
	// SystemStateDiskPath is a path on the disk whose use the heartbeat
	// reports.
	SystemStateDiskPath string
}

// LoadConfig reads the configuration from the environment.
func LoadConfig(r *config.Reader) (Config, error) {
	hostname, err := os.Hostname()
	if err != nil {
		hostname = "backoffice"
	}
	c := Config{
		Listen:                  r.String("BACKOFFICE_LISTEN", "127.0.0.1:8081"),
		DatabaseURL:             r.String("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/preschool?sslmode=disable"),
		DatabaseMaxConns:        r.Int("DATABASE_MAX_CONNS", 20, 2, 1000),
		RedisAddress:            r.String("REDIS_ADDR", "127.0.0.1:6379"),
		RedisPassword:           r.String("REDIS_PASSWORD", ""),
		RedisPrefix:             r.String("REDIS_PREFIX", "ps:"),
		KeyringFile:             r.String("CRYPTO_KEYRING_FILE", ""),
		UploadDir:               r.String("BACKOFFICE_UPLOAD_DIR", ".run/uploads"),
		DataAPIURL:              r.String("DATA_API_URL", "http://127.0.0.1:7103"),
		DataAPITimeout:          r.Duration("DATA_API_TIMEOUT", 2*time.Second, time.Millisecond),
		DevSignIn:               r.Bool("BACKOFFICE_DEV_SIGN_IN", false),
		SecureCookie:            r.Bool("BACKOFFICE_SECURE_COOKIE", false),
		SessionTTL:              r.Duration("BACKOFFICE_SESSION_TTL", 12*time.Hour, time.Minute),
		IdleTimeout:             r.Duration("BACKOFFICE_IDLE_TIMEOUT", 30*time.Minute, time.Minute),
		LoginAttemptsPerMinute:  r.Int("BACKOFFICE_LOGIN_ATTEMPTS_PER_MINUTE", staff.DefaultLoginAttemptsPerMinute, 1, 100_000),
		DrainConsumer:           r.String("DRAIN_CONSUMER", hostname),
		DrainConsumers:          r.Int("DRAIN_CONSUMERS", 3, 1, 64),
		DrainBatchSize:          r.Int("DRAIN_BATCH_SIZE", 1000, 1, 10_000),
		DrainBlock:              r.Duration("DRAIN_BLOCK", 2*time.Second, 10*time.Millisecond),
		DrainLinger:             r.Duration("DRAIN_LINGER", 20*time.Millisecond, 0),
		DrainClaimIdle:          r.Duration("DRAIN_CLAIM_IDLE", 30*time.Second, 10*time.Millisecond),
		DrainClaimInterval:      r.Duration("DRAIN_CLAIM_INTERVAL", 10*time.Second, 10*time.Millisecond),
		DrainMaxDeliveries:      r.Int("DRAIN_MAX_DELIVERIES", 5, 1, 1000),
		DrainTrimInterval:       r.Duration("DRAIN_TRIM_INTERVAL", 5*time.Second, 10*time.Millisecond),
		ReceiptTTL:              enrol.ReceiptTTL(r),
		VerifyInterval:          r.Duration("VERIFY_INTERVAL", 2*time.Second, 10*time.Millisecond),
		VerifyBatchSize:         r.Int("VERIFY_BATCH_SIZE", 100, 1, 100),
		VerifyMaxAttempts:       r.Int("VERIFY_MAX_ATTEMPTS", 3, 1, 100),
		VerifyDeadline:          r.Duration("VERIFY_DEADLINE", 10*time.Minute, time.Second),
		VerifyBreakerOpenFor:    r.Duration("VERIFY_BREAKER_OPEN_FOR", 30*time.Second, 10*time.Millisecond),
		VerifyRate:              r.Int("VERIFY_RATE", 200, 0, 100_000),
		SMSAPIURL:               r.String("SMS_API_URL", "http://127.0.0.1:7105"),
		SMSTimeout:              r.Duration("SMS_TIMEOUT", 5*time.Second, time.Millisecond),
		SMSInterval:             r.Duration("SMS_INTERVAL", time.Second, 10*time.Millisecond),
		SMSBatchSize:            r.Int("SMS_BATCH_SIZE", 50, 1, 1000),
		SMSBackoff:              r.Duration("SMS_BACKOFF", 30*time.Second, time.Millisecond),
		SMSMaxBackoff:           r.Duration("SMS_MAX_BACKOFF", 30*time.Minute, time.Millisecond),
		SMSReceiptDelay:         r.Duration("SMS_RECEIPT_DELAY", 5*time.Second, 0),
		RatingAPIURL:            r.String("RATING_API_URL", "http://127.0.0.1:7107"),
		RatingTimeout:           r.Duration("RATING_TIMEOUT", 5*time.Second, time.Millisecond),
		RatingInterval:          r.Duration("RATING_INTERVAL", time.Second, 10*time.Millisecond),
		RatingBackoff:           r.Duration("RATING_BACKOFF", 30*time.Second, time.Millisecond),
		RatingMaxBackoff:        r.Duration("RATING_MAX_BACKOFF", 30*time.Minute, time.Millisecond),
		RatingMaxAttempts:       r.Int("RATING_MAX_ATTEMPTS", 10, 1, 100),
		RatingConcurrency:       r.Int("RATING_CONCURRENCY", 8, 1, 64),
		DashboardCacheTTL:       r.Duration("DASHBOARD_CACHE_TTL", 10*time.Second, 0),
		Workers:                 r.Bool("BACKOFFICE_WORKERS", true),
		Crypto:                  crypto.LoadProviderConfig(r),
		IntegrityInterval:       r.Duration("ACL_VERIFY_INTERVAL", 5*time.Minute, time.Second),
		AuditCheckpointInterval: r.Duration("AUDIT_CHECKPOINT_INTERVAL", 10*time.Minute, 100*time.Millisecond),
		GatewayPublicKeyFile:    r.String("GATEWAY_PUBLIC_KEY_FILE", ""),
		GatewayKeyID:            r.String("GATEWAY_KEY_ID", ""),
		GatewayMaxSkew:          r.Duration("GATEWAY_MAX_SKEW", 30*time.Second, time.Second),
		TLSCertFile:             r.String("BACKOFFICE_TLS_CERT_FILE", ""),
		TLSKeyFile:              r.String("BACKOFFICE_TLS_KEY_FILE", ""),
		SystemStateInterval:     r.Duration("SYSTEM_STATE_INTERVAL", linkhealth.DefaultInterval, time.Second),
		SystemStateDiskPath:     r.String("SYSTEM_STATE_DISK_PATH", "/"),
	}
	if (c.GatewayPublicKeyFile == "") != (c.GatewayKeyID == "") {
		return c, fmt.Errorf("invalid configuration: set both GATEWAY_PUBLIC_KEY_FILE and GATEWAY_KEY_ID, or neither")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return c, fmt.Errorf("invalid configuration: set both BACKOFFICE_TLS_CERT_FILE and BACKOFFICE_TLS_KEY_FILE, or neither")
	}
	r.Require("CRYPTO_KEYRING_FILE", c.KeyringFile)
	if c.DrainClaimIdle <= c.DrainBlock {
		return c, fmt.Errorf("invalid configuration: DRAIN_CLAIM_IDLE (%s) must be longer than DRAIN_BLOCK (%s), or live consumers lose their entries", c.DrainClaimIdle, c.DrainBlock)
	}
	return c, r.Err()
}
