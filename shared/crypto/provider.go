package crypto

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tjfoc/gmsm/sm2"

	"github.com/sh-preschool/preschool/shared/config"
)

// Provider is the one interface through which the system uses cryptographic
// services: SM4-GCM sealing, HMAC-SM3 blind indexes and SM2 signatures. The
// local implementation computes with keys on this host; the cloud one calls
// the cloud's cryptography service, which keeps the keys. Implementations
// are safe for concurrent use.
type Provider interface {
	// Seal encrypts plaintext under the active sealing key. The label (the
	// Keyring's "context", such as "registration.child_name") is
	// authenticated, so a ciphertext moved to another column does not open.
	Seal(ctx context.Context, plaintext []byte, label string) ([]byte, error)
	// Open decrypts a ciphertext made by Seal with the same label. Errors
	// wrap ErrMalformed, ErrUnknownKey or ErrAuthenticationFailed, or
	// ErrServiceUnavailable for the cloud.
	Open(ctx context.Context, sealed []byte, label string) ([]byte, error)
	// Index returns the 32-byte HMAC-SM3 blind index of value within a
	// domain (such as "child_document").
	Index(ctx context.Context, domain string, value []byte) ([]byte, error)
	// Sign returns an SM2 signature of message by the active signing key,
	// or an error wrapping ErrSigningUnavailable when none is configured.
	Sign(ctx context.Context, message []byte) (Signature, error)
	// Verify checks a signature made by Sign, with the key it names. Errors
	// wrap ErrUnknownKey or ErrInvalidSignature.
	Verify(ctx context.Context, message []byte, signature Signature) error
	// ActiveKeyID returns the ID of the key that seals new data.
	ActiveKeyID() string
}

// Signature is an SM2 signature with what is needed to verify it.
type Signature struct {
	KeyID  string
	UserID string
	// Value is the DER-encoded SM2 signature.
	Value []byte
}

var (
	// ErrAuthenticationFailed is returned by Open when a ciphertext does
	// not authenticate: a wrong label, or a changed ciphertext.
	ErrAuthenticationFailed = errors.New("crypto: message authentication failed")
	// ErrSigningUnavailable is returned by Sign when no signing key is
	// configured.
	ErrSigningUnavailable = errors.New("crypto: no SM2 signing key is configured")
)

// LocalProvider is the Provider over a Keyring and an SM2 Signer on this
// host. It ignores the contexts, as its work does not block.
type LocalProvider struct {
	keyring  *Keyring
	signer   *Signer
	verifier *Verifier
	userID   string
}

// NewLocalProvider returns a provider that seals with keyring and signs with
// signer for userID. A nil signer makes Sign fail with
// ErrSigningUnavailable. Verify accepts the signer's key and verifyKeys,
// the public keys of retired signing keys by ID.
func NewLocalProvider(keyring *Keyring, signer *Signer, verifyKeys map[string]*sm2.PublicKey, userID string) (*LocalProvider, error) {
	if keyring == nil {
		return nil, errors.New("crypto: the local provider needs a keyring")
	}
	if err := checkUserID(userID); err != nil {
		return nil, err
	}
	keys := make(map[string]*sm2.PublicKey, len(verifyKeys)+1)
	for keyID, key := range verifyKeys {
		keys[keyID] = key
	}
	if signer != nil {
		if key, ok := keys[signer.KeyID()]; ok && (key.X.Cmp(signer.PublicKey().X) != 0 || key.Y.Cmp(signer.PublicKey().Y) != 0) {
			return nil, fmt.Errorf("crypto: verify key %q is not the public key of the signing key with that ID", signer.KeyID())
		}
		keys[signer.KeyID()] = signer.PublicKey()
	}
	verifier, err := NewVerifier(keys)
	if err != nil {
		return nil, err
	}
	return &LocalProvider{keyring: keyring, signer: signer, verifier: verifier, userID: userID}, nil
}

// Seal implements Provider.
func (p *LocalProvider) Seal(_ context.Context, plaintext []byte, label string) ([]byte, error) {
	return p.keyring.Seal(plaintext, label), nil
}

// Open implements Provider.
func (p *LocalProvider) Open(_ context.Context, sealed []byte, label string) ([]byte, error) {
	plaintext, err := p.keyring.Open(sealed, label)
	if err == nil || errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnknownKey) {
		return plaintext, err
	}
	// Keyring.Open returns no other error than a failed authentication.
	return nil, fmt.Errorf("%w: the context %q is not the one sealed with, or the ciphertext was changed", ErrAuthenticationFailed, label)
}

// Index implements Provider.
func (p *LocalProvider) Index(_ context.Context, domain string, value []byte) ([]byte, error) {
	return p.keyring.Index(domain, value), nil
}

// Sign implements Provider.
func (p *LocalProvider) Sign(_ context.Context, message []byte) (Signature, error) {
	if p.signer == nil {
		return Signature{}, ErrSigningUnavailable
	}
	value, err := p.signer.Sign(message, p.userID)
	if err != nil {
		return Signature{}, err
	}
	return Signature{KeyID: p.signer.KeyID(), UserID: p.userID, Value: value}, nil
}

// Verify implements Provider.
func (p *LocalProvider) Verify(_ context.Context, message []byte, signature Signature) error {
	return p.verifier.Verify(signature.KeyID, message, signature.Value, signature.UserID)
}

// ActiveKeyID implements Provider.
func (p *LocalProvider) ActiveKeyID() string { return p.keyring.ActiveKeyID() }

// Provider kinds of ProviderConfig.Kind.
const (
	ProviderLocal = "local"
	ProviderCloud = "cloud"
)

// DefaultServiceTimeout bounds one call to the cloud's cryptography service
// when ProviderConfig.ServiceTimeout is zero.
const DefaultServiceTimeout = 5 * time.Second

// ProviderConfig selects and configures a Provider. LoadProviderConfig reads
// it from the environment variables named in the field comments.
type ProviderConfig struct {
	// Kind is ProviderLocal or ProviderCloud (CRYPTO_PROVIDER, default local).
	Kind string

	// KeyringFile is the local keyring's JSON file (CRYPTO_KEYRING_FILE).
	KeyringFile string
	// SigningKeyFile is the local SM2 private key's PEM file
	// (CRYPTO_SIGNING_KEY_FILE); empty leaves signing unavailable.
	SigningKeyFile string
	// SigningKeyID names the signing key, local or in the cloud service
	// (CRYPTO_SIGNING_KEY_ID).
	SigningKeyID string
	// VerifyKeys lists public keys of retired local signing keys as
	// comma-separated id=path pairs (CRYPTO_VERIFY_KEYS).
	VerifyKeys string
	// UserID is the SM2 signer identity (CRYPTO_SIGNING_USER_ID, default
	// DefaultUserID).
	UserID string

	// ServiceURL is the cloud service's base URL, https unless the host is
	// a loopback address (CRYPTO_SERVICE_URL).
	ServiceURL string
	// ServiceAPIKey is sent with every call (CRYPTO_SERVICE_API_KEY).
	ServiceAPIKey string `secret:"true"`
	// ServiceTimeout bounds one call (CRYPTO_SERVICE_TIMEOUT, default 5s).
	ServiceTimeout time.Duration
	// SealingKeyID names the service's key that seals new data
	// (CRYPTO_SEALING_KEY_ID).
	SealingKeyID string
	// MaxSealsPerDataKey is the number of values one data key seals before
	// a new one replaces it (CRYPTO_DATA_KEY_MAX_SEALS, default
	// DefaultMaxSealsPerDataKey).
	MaxSealsPerDataKey int
}

// LoadProviderConfig reads a ProviderConfig from the environment variables
// named in its field comments. NewProvider checks the values.
func LoadProviderConfig(r *config.Reader) ProviderConfig {
	return ProviderConfig{
		Kind:               r.String("CRYPTO_PROVIDER", ProviderLocal),
		KeyringFile:        r.String("CRYPTO_KEYRING_FILE", ""),
		SigningKeyFile:     r.String("CRYPTO_SIGNING_KEY_FILE", ""),
		SigningKeyID:       r.String("CRYPTO_SIGNING_KEY_ID", ""),
		VerifyKeys:         r.String("CRYPTO_VERIFY_KEYS", ""),
		UserID:             r.String("CRYPTO_SIGNING_USER_ID", DefaultUserID),
		ServiceURL:         r.String("CRYPTO_SERVICE_URL", ""),
		ServiceAPIKey:      r.String("CRYPTO_SERVICE_API_KEY", ""),
		ServiceTimeout:     r.Duration("CRYPTO_SERVICE_TIMEOUT", DefaultServiceTimeout, 100*time.Millisecond),
		SealingKeyID:       r.String("CRYPTO_SEALING_KEY_ID", ""),
		MaxSealsPerDataKey: r.Int("CRYPTO_DATA_KEY_MAX_SEALS", DefaultMaxSealsPerDataKey, 2, MaxSealsPerDataKeyLimit),
	}
}

// NewProvider builds the Provider that config selects. For "local" it loads
// the keyring file and, when configured, the SM2 key files. For "cloud" it
// only checks the settings, so an unreachable service shows up at the first
// call.
func NewProvider(config ProviderConfig) (Provider, error) {
	userID := config.UserID
	if userID == "" {
		userID = DefaultUserID
	}
	switch config.Kind {
	case ProviderLocal, "":
		return newLocalProviderFromFiles(config, userID)
	case ProviderCloud:
		return newCloudProviderFromConfig(config, userID)
	}
	return nil, errUnknownKind(config.Kind)
}

func errUnknownKind(kind string) error {
	return fmt.Errorf("crypto: CRYPTO_PROVIDER=%q: want %q or %q", kind, ProviderLocal, ProviderCloud)
}

func newCloudProviderFromConfig(config ProviderConfig, userID string) (*CloudProvider, error) {
	var retired *Verifier
	if config.VerifyKeys != "" {
		var err error
		if retired, err = LoadVerifier("CRYPTO_VERIFY_KEYS", config.VerifyKeys); err != nil {
			return nil, err
		}
	}
	return NewCloudProvider(CloudConfig{
		URL:          config.ServiceURL,
		APIKey:       config.ServiceAPIKey,
		Timeout:      config.ServiceTimeout,
		SealingKeyID: config.SealingKeyID,
		SigningKeyID: config.SigningKeyID,
		UserID:       userID,
		RetiredKeys:  retired,
	})
}

// LoadKeyring returns the keyring that seals personal data, from the
// keyring file (CRYPTO_KEYRING_FILE). With CRYPTO_PROVIDER=cloud, new data
// is sealed with a data key of the cloud's cryptography service
// (Keyring.WithDataKeysLimit), whose master key is CRYPTO_SEALING_KEY_ID,
// data sealed before with the file's keys still opens, and the blind-index
// key is the file's wrapped_index_key unwrapped by the service
// (WrapIndexKey). The cloud case calls the service twice, so an
// unreachable service fails here.
func LoadKeyring(ctx context.Context, config ProviderConfig) (*Keyring, error) {
	if config.KeyringFile == "" {
		return nil, errors.New("CRYPTO_KEYRING_FILE is not set: it names the keyring file that seals personal data (backoffice keygen FILE makes one)")
	}
	switch config.Kind {
	case ProviderLocal, "":
		keyring, err := LoadKeyringFile(config.KeyringFile)
		if err != nil {
			return nil, fmt.Errorf("CRYPTO_KEYRING_FILE: %w", err)
		}
		return keyring, nil
	case ProviderCloud:
		return loadCloudKeyring(ctx, config)
	}
	return nil, errUnknownKind(config.Kind)
}

func loadCloudKeyring(ctx context.Context, config ProviderConfig) (*Keyring, error) {
	userID := config.UserID
	if userID == "" {
		userID = DefaultUserID
	}
	service, err := newCloudProviderFromConfig(config, userID)
	if err != nil {
		return nil, err
	}
	file, err := readKeyringFile(config.KeyringFile)
	if err != nil {
		return nil, fmt.Errorf("CRYPTO_KEYRING_FILE: %w", err)
	}
	if file, err = unwrapIndexKey(ctx, file, service, service.timeout); err != nil {
		return nil, fmt.Errorf("CRYPTO_KEYRING_FILE: %w", err)
	}
	keyring, err := NewKeyring(file)
	if err != nil {
		return nil, fmt.Errorf("CRYPTO_KEYRING_FILE: %w", err)
	}
	maxSeals := config.MaxSealsPerDataKey
	if maxSeals == 0 {
		maxSeals = DefaultMaxSealsPerDataKey
	}
	return keyring.WithDataKeysLimit(ctx, service, service.timeout, uint64(maxSeals))
}

func newLocalProviderFromFiles(config ProviderConfig, userID string) (*LocalProvider, error) {
	if config.KeyringFile == "" {
		return nil, errors.New("crypto: the local provider needs the keyring file (CRYPTO_KEYRING_FILE)")
	}
	keyring, err := LoadKeyringFile(config.KeyringFile)
	if err != nil {
		return nil, fmt.Errorf("CRYPTO_KEYRING_FILE: %w", err)
	}

	var signer *Signer
	switch {
	case config.SigningKeyFile != "" && config.SigningKeyID == "":
		return nil, errors.New("crypto: CRYPTO_SIGNING_KEY_FILE is set but CRYPTO_SIGNING_KEY_ID is not: name the key")
	case config.SigningKeyFile == "" && config.SigningKeyID != "":
		return nil, errors.New("crypto: CRYPTO_SIGNING_KEY_ID is set but CRYPTO_SIGNING_KEY_FILE is not: give the key's PEM file")
	case config.SigningKeyFile != "":
		if signer, err = LoadSigner(config.SigningKeyID, config.SigningKeyFile); err != nil {
			return nil, fmt.Errorf("CRYPTO_SIGNING_KEY_FILE: %w", err)
		}
	}

	verifyKeys, err := loadVerifyKeys("CRYPTO_VERIFY_KEYS", config.VerifyKeys)
	if err != nil {
		return nil, err
	}
	return NewLocalProvider(keyring, signer, verifyKeys, userID)
}

// LoadVerifier returns a verifier of the public key files in list, as
// comma-separated id=path pairs. Errors name the list by name, such as a
// flag or an environment variable.
func LoadVerifier(name, list string) (*Verifier, error) {
	keys, err := loadVerifyKeys(name, list)
	if err != nil {
		return nil, err
	}
	return NewVerifier(keys)
}

// loadVerifyKeys reads the public key files of "id=path,id=path", the
// value of the setting name.
func loadVerifyKeys(name, list string) (map[string]*sm2.PublicKey, error) {
	keys := map[string]*sm2.PublicKey{}
	for pair := range strings.SplitSeq(list, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		keyID, path, ok := strings.Cut(pair, "=")
		keyID, path = strings.TrimSpace(keyID), strings.TrimSpace(path)
		if !ok || keyID == "" || path == "" {
			return nil, fmt.Errorf("crypto: %s entry %q: want id=path, such as audit-2025=/etc/preschool/audit-2025.pub.pem", name, pair)
		}
		if _, dup := keys[keyID]; dup {
			return nil, fmt.Errorf("crypto: %s names key %q twice", name, keyID)
		}
		key, err := LoadSM2PublicKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s entry %q: %w", name, keyID, err)
		}
		keys[keyID] = key
	}
	return keys, nil
}
