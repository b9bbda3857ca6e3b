// Package crypto seals personal data with SM4-GCM and computes HMAC-SM3
// blind indexes, with keys identified by ID so that old ciphertexts stay
// readable after a new key becomes active.
package crypto

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"os"
	"sync"

	"github.com/tjfoc/gmsm/sm3"
	"github.com/tjfoc/gmsm/sm4"
)

// ErrUnknownKey is returned by Open when the ciphertext names a key the
// keyring does not hold.
var ErrUnknownKey = errors.New("crypto: unknown key ID")

// ErrMalformed is returned by Open for a ciphertext that is too short or has
// an unknown format version.
var ErrMalformed = errors.New("crypto: malformed ciphertext")

const (
	formatVersion = 1
	nonceSize     = 12
	sm4KeySize    = 16
)

// Keyring holds the SM4 sealing keys by ID, the ID of the key that seals new
// data, and the HMAC-SM3 key for blind indexes. It is safe for concurrent
// use.
type Keyring struct {
	activeID string
	// aeads holds a pool of SM4-GCM instances per key ID, because a
	// tjfoc/gmsm SM4 block keeps scratch buffers in the cipher value and so
	// must not encrypt on two goroutines at once.
	aeads    map[string]*sync.Pool
	indexKey []byte
	macs     sync.Pool
	// envelope, when set by WithDataKeys, seals with a data key of the
	// cryptography service, and activeID is the service's master key.
	envelope *envelope
}

// KeyringFile is the JSON form of a keyring, with keys in hex.
type KeyringFile struct {
	ActiveKeyID string            `json:"active_key_id"`
	SealingKeys map[string]string `json:"sealing_keys"`
	IndexKey    string            `json:"index_key,omitempty"`
	// WrappedIndexKey is the index key sealed by the cloud's cryptography
	// service with context IndexKeyContext, in place of IndexKey. Only
	// LoadKeyring with CRYPTO_PROVIDER=cloud can use it (WrapIndexKey).
	WrappedIndexKey string `json:"wrapped_index_key,omitempty"`
}

// NewKeyring builds a keyring. Sealing keys are 16 bytes (SM4), the index
// key at least 32 bytes.
func NewKeyring(file KeyringFile) (*Keyring, error) {
	keyring := &Keyring{activeID: file.ActiveKeyID, aeads: map[string]*sync.Pool{}}
	for id, hexKey := range file.SealingKeys {
		if id == "" || len(id) > 32 {
			return nil, fmt.Errorf("crypto: key ID %q must be 1 to 32 characters", id)
		}
		key, err := hex.DecodeString(hexKey)
		if err != nil || len(key) != sm4KeySize {
			return nil, fmt.Errorf("crypto: sealing key %q must be %d bytes in hex", id, sm4KeySize)
		}
		if _, err := newAEAD(key); err != nil {
			return nil, fmt.Errorf("crypto: sealing key %q: %w", id, err)
		}
		keyring.aeads[id] = &sync.Pool{New: func() any {
			aead, _ := newAEAD(key) // the key was checked above
			return aead
		}}
	}
	if _, ok := keyring.aeads[file.ActiveKeyID]; !ok {
		return nil, fmt.Errorf("crypto: active key %q is not among the sealing keys", file.ActiveKeyID)
	}

	if file.IndexKey == "" && file.WrappedIndexKey != "" {
		return nil, errors.New("crypto: the keyring file's blind-index key is wrapped by the cloud's cryptography service (wrapped_index_key): " +
			"set CRYPTO_PROVIDER=cloud and the service's settings, which unwrap it")
	}
	var err error
	if keyring.indexKey, err = decodeMACKey("index_key", file.IndexKey); err != nil {
		return nil, err
	}
	keyring.macs.New = func() any { return hmac.New(sm3.New, keyring.indexKey) }
	return keyring, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := sm4.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func decodeMACKey(name, hexKey string) ([]byte, error) {
	key, err := hex.DecodeString(hexKey)
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("crypto: %s must be at least 32 bytes in hex", name)
	}
	return key, nil
}

// LoadKeyringFile reads a keyring from a JSON file written by
// GenerateKeyringFile or by hand.
func LoadKeyringFile(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("crypto: read keyring: %w", err)
	}
	return ParseKeyring(data)
}

// ParseKeyring builds a keyring from its JSON form.
func ParseKeyring(data []byte) (*Keyring, error) {
	var file KeyringFile
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("crypto: parse keyring: %w", err)
	}
	return NewKeyring(file)
}

// GenerateKeyring returns a keyring file with fresh random keys and one
// sealing key named activeID.
func GenerateKeyring(activeID string) KeyringFile {
	return KeyringFile{
		ActiveKeyID: activeID,
		SealingKeys: map[string]string{activeID: randomHex(sm4KeySize)},
		IndexKey:    randomHex(32),
	}
}

// GenerateKeyringFile writes a new keyring to path, readable only by its
// owner, unless the file exists already.
func GenerateKeyringFile(path, activeID string) error {
	data, err := json.MarshalIndent(GenerateKeyring(activeID), "", "  ")
	if err != nil {
		return err
	}
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("crypto: create keyring: %w", err)
	}
	if _, err := file.Write(data); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

func randomHex(size int) string {
	key := make([]byte, size)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return hex.EncodeToString(key)
}

// ActiveKeyID returns the ID of the key that seals new data.
func (k *Keyring) ActiveKeyID() string { return k.activeID }

// Seal encrypts plaintext under the active key. The context (such as
// "registration.child_name") is authenticated, so a ciphertext moved to
// another column does not open. The result starts with the format version
// and the key ID.
func (k *Keyring) Seal(plaintext []byte, context string) []byte {
	if k.envelope != nil {
		return k.envelope.seal(k.activeID, plaintext, context)
	}
	pool := k.aeads[k.activeID]
	aead := pool.Get().(cipher.AEAD)
	defer pool.Put(aead)
	header := 2 + len(k.activeID)
	sealed := make([]byte, header+nonceSize, header+nonceSize+len(plaintext)+aead.Overhead())
	sealed[0] = formatVersion
	sealed[1] = byte(len(k.activeID))
	copy(sealed[2:], k.activeID)
	nonce := sealed[header : header+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return aead.Seal(sealed, nonce, plaintext, []byte(context))
}

// SealString is Seal for a string; the empty string seals to nil.
func (k *Keyring) SealString(plaintext, context string) []byte {
	if plaintext == "" {
		return nil
	}
	return k.Seal([]byte(plaintext), context)
}

// Open decrypts a ciphertext made by Seal with the same context. Errors
// wrap ErrMalformed, ErrUnknownKey or ErrAuthenticationFailed. For a
// ciphertext sealed with a data key (WithDataKeys) it may also return an
// error of the service, such as ErrServiceUnavailable.
func (k *Keyring) Open(sealed []byte, context string) ([]byte, error) {
	if len(sealed) > 0 && sealed[0] == envelopeVersion {
		if k.envelope != nil {
			return k.envelope.open(sealed, context)
		}
		if _, err := parseEnvelope(sealed); err != nil {
			return nil, err
		}
		return nil, errEnvelopeWithoutService
	}
	if len(sealed) < 2 || sealed[0] != formatVersion || len(sealed) < 2+int(sealed[1])+nonceSize {
		return nil, ErrMalformed
	}
	keyID := string(sealed[2 : 2+int(sealed[1])])
	pool, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, keyID)
	}
	aead := pool.Get().(cipher.AEAD)
	defer pool.Put(aead)
	header := 2 + len(keyID)
	nonce := sealed[header : header+nonceSize]
	plaintext, err := aead.Open(nil, nonce, sealed[header+nonceSize:], []byte(context))
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %v", ErrAuthenticationFailed, context, err)
	}
	return plaintext, nil
}

// Index returns the 32-byte HMAC-SM3 blind index of value within a domain
// (such as "child_document"), so equal values in different domains do not
// share an index.
func (k *Keyring) Index(domain string, value []byte) []byte {
	mac := k.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write([]byte(domain))
	mac.Write([]byte{0})
	mac.Write(value)
	sum := mac.Sum(make([]byte, 0, 32))
	k.macs.Put(mac)
	return sum
}

// SealedKeyID returns the key ID that a ciphertext made by Seal names,
// without decrypting it: for a ciphertext sealed with a data key, the
// service's master key that wraps the data key.
func SealedKeyID(sealed []byte) (string, error) {
	if len(sealed) < 2 || (sealed[0] != formatVersion && sealed[0] != envelopeVersion) || len(sealed) < 2+int(sealed[1]) {
		return "", fmt.Errorf("%w: %d bytes do not start with a format version and key ID", ErrMalformed, len(sealed))
	}
	return string(sealed[2 : 2+int(sealed[1])]), nil
}
