package crypto

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// envelopeVersion is the format version of a ciphertext sealed with a data
// key. It contains the version, the master key ID's length and the master
// key ID, the wrapped data key's length as a big-endian uint16, the wrapped
// data key, the nonce and the SM4-GCM ciphertext with the context as
// associated data. The master key ID is at the same offsets as the key ID
// of format version 1, so SealedKeyID and the SQL of "backoffice keys
// rotate" read both.
const envelopeVersion = 2

// maxWrappedKeySize bounds a wrapped data key in a ciphertext or a service
// response.
const maxWrappedKeySize = 1024

// maxCachedDataKeys bounds the unwrapped data keys a keyring keeps. Every
// process that seals makes one data key when it starts, so the number in
// use grows with restarts. Past the bound, an arbitrary key is dropped and
// unwrapped again when needed.
const maxCachedDataKeys = 4096

// DefaultMaxSealsPerDataKey is how many values one data key seals before
// the keyring switches to a new one, when the configuration sets no other
// limit (CRYPTO_DATA_KEY_MAX_SEALS). With random 96-bit GCM nonces, NIST SP
// 800-38D allows 2^32 encryptions per key; at 2^24 the chance that two
// nonces repeat is below 2^-48.
const DefaultMaxSealsPerDataKey = 1 << 24

// MaxSealsPerDataKeyLimit is the largest configurable limit, half of the
// 2^32 that SP 800-38D allows, so a key that cannot be replaced in time
// still has room.
const MaxSealsPerDataKeyLimit = 1 << 31

// dataKeyRetryDelay is the wait after a failed renewal before a seal may
// start the next attempt.
var dataKeyRetryDelay = time.Second

// DataKey is a data key of envelope encryption: an SM4 key in plaintext and
// wrapped by the master key MasterKeyID of the cryptography service.
type DataKey struct {
	MasterKeyID string
	Plaintext   []byte
	Wrapped     []byte
}

// DataKeyService generates and unwraps data keys. CloudProvider is one,
// over the cloud's cryptography service.
type DataKeyService interface {
	GenerateDataKey(ctx context.Context) (DataKey, error)
	UnwrapDataKey(ctx context.Context, wrapped []byte) (DataKey, error)
}

// activeDataKey is the data key that seals new values, with the number of
// values it sealed.
type activeDataKey struct {
	wrapped []byte
	pool    *sync.Pool
	seals   atomic.Uint64
}

// envelope is the state of a keyring that seals with data keys.
type envelope struct {
	service DataKeyService
	// timeout bounds one service call: an unwrap, which Open makes on a
	// cache miss, or the generation of a new data key.
	timeout     time.Duration
	masterKeyID string
	active      atomic.Pointer[activeDataKey]
	// maxSeals is the number of values one data key seals. A renewal
	// starts in the background at half of it.
	maxSeals uint64
	renewing atomic.Bool

	mu    sync.Mutex
	cache map[string]*sync.Pool // by cacheKey
	// unwraps makes concurrent misses of one key share one service call.
	unwraps singleflight.Group
}

// WithDataKeys returns a keyring that seals new data with a data key from
// service, wrapped by the service's master key, and opens what it seals by
// unwrapping the stored data key through the service once and caching it.
// The master key ID becomes the active key ID. The returned keyring still
// opens ciphertexts of k's own keys and uses k's index key. It calls the
// service once now, so an unreachable service fails here.
//
// Each data key seals at most DefaultMaxSealsPerDataKey values (see
// WithDataKeysLimit).
func (k *Keyring) WithDataKeys(ctx context.Context, service DataKeyService, timeout time.Duration) (*Keyring, error) {
	return k.WithDataKeysLimit(ctx, service, timeout, DefaultMaxSealsPerDataKey)
}

// WithDataKeysLimit is WithDataKeys with a limit on the values one data key
// seals, from 2 to MaxSealsPerDataKeyLimit. When a data key has sealed half
// of maxSeals, one seal starts the generation of a new key in the
// background, and sealing switches to it once the service returns it. No
// seal waits for the service.
//
// NOTE: while the service stays unreachable, the old key goes on sealing
// past maxSeals, with an error logged at the limit and at each failed
// renewal, because Seal has no error to return.
func (k *Keyring) WithDataKeysLimit(ctx context.Context, service DataKeyService, timeout time.Duration, maxSeals uint64) (*Keyring, error) {
	if maxSeals < 2 || maxSeals > MaxSealsPerDataKeyLimit {
		return nil, fmt.Errorf("crypto: a data key's seal limit of %d is out of range: use 2 to %d", maxSeals, uint64(MaxSealsPerDataKeyLimit))
	}
	if timeout <= 0 {
		timeout = DefaultServiceTimeout
	}
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	key, err := service.GenerateDataKey(callCtx)
	if err != nil {
		return nil, fmt.Errorf("crypto: generate a data key: %w", err)
	}
	if _, local := k.aeads[key.MasterKeyID]; local {
		return nil, fmt.Errorf("crypto: the service's master key ID %q is also a key ID of the local keyring: give them different IDs, or rotation cannot tell them apart", key.MasterKeyID)
	}
	if len(key.MasterKeyID) == 0 || len(key.MasterKeyID) > 255 || len(key.Wrapped) == 0 || len(key.Wrapped) > maxWrappedKeySize {
		return nil, fmt.Errorf("crypto: the data key's master key ID %q or its %d-byte wrapped form is out of range", key.MasterKeyID, len(key.Wrapped))
	}
	pool, err := dataKeyPool(key.Plaintext)
	if err != nil {
		return nil, err
	}
	e := &envelope{service: service, timeout: timeout, masterKeyID: key.MasterKeyID, maxSeals: maxSeals,
		cache: map[string]*sync.Pool{cacheKey(key.MasterKeyID, key.Wrapped): pool}}
	e.active.Store(&activeDataKey{wrapped: key.Wrapped, pool: pool})
	keyring := &Keyring{activeID: key.MasterKeyID, aeads: k.aeads, indexKey: k.indexKey, envelope: e}
	keyring.macs.New = k.macs.New
	slog.Info("sealing with a data key of the cryptography service", "master_key_id", key.MasterKeyID)
	return keyring, nil
}

// cacheKey identifies a data key in the cache by its master key ID and its
// wrapped form, so a ciphertext whose header names another master key than
// the one that wrapped the key is unwrapped, and rejected, by the service.
func cacheKey(masterKeyID string, wrapped []byte) string {
	return masterKeyID + "\x00" + string(wrapped)
}

func dataKeyPool(plaintext []byte) (*sync.Pool, error) {
	if len(plaintext) != sm4KeySize {
		return nil, fmt.Errorf("crypto: a data key must be %d bytes, not %d", sm4KeySize, len(plaintext))
	}
	if _, err := newAEAD(plaintext); err != nil {
		return nil, err
	}
	key := append([]byte(nil), plaintext...)
	return &sync.Pool{New: func() any {
		aead, _ := newAEAD(key) // the key was checked above
		return aead
	}}, nil
}

// seal encrypts plaintext with the active data key in format
// envelopeVersion, and starts the key's renewal when it has sealed half of
// its limit.
func (e *envelope) seal(masterKeyID string, plaintext []byte, context string) []byte {
	key := e.active.Load()
	seals := key.seals.Add(1)
	if seals >= e.maxSeals/2 && e.active.Load() == key && e.renewing.CompareAndSwap(false, true) {
		go e.renew(key)
	}
	if seals == e.maxSeals {
		slog.Error("a data key reached its seal limit and no new data key has replaced it yet; sealing goes on with it",
			"master_key_id", masterKeyID, "max_seals", e.maxSeals)
	}

	aead := key.pool.Get().(cipher.AEAD)
	defer key.pool.Put(aead)
	header := 2 + len(masterKeyID) + 2 + len(key.wrapped)
	sealed := make([]byte, header+nonceSize, header+nonceSize+len(plaintext)+aead.Overhead())
	sealed[0] = envelopeVersion
	sealed[1] = byte(len(masterKeyID))
	offset := 2 + copy(sealed[2:], masterKeyID)
	binary.BigEndian.PutUint16(sealed[offset:], uint16(len(key.wrapped)))
	copy(sealed[offset+2:], key.wrapped)
	nonce := sealed[header : header+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return aead.Seal(sealed, nonce, plaintext, []byte(context))
}

// renew generates a data key to replace old and makes it the active one.
// After a failure it waits dataKeyRetryDelay before a later seal may try
// again.
func (e *envelope) renew(old *activeDataKey) {
	defer e.renewing.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	key, err := e.service.GenerateDataKey(ctx)
	if err == nil && key.MasterKeyID != e.masterKeyID {
		err = fmt.Errorf("the service wrapped it under master key %q, not %q", key.MasterKeyID, e.masterKeyID)
	}
	if err == nil && (len(key.Wrapped) == 0 || len(key.Wrapped) > maxWrappedKeySize) {
		err = fmt.Errorf("its wrapped form has %d bytes, want 1 to %d", len(key.Wrapped), maxWrappedKeySize)
	}
	var pool *sync.Pool
	if err == nil {
		pool, err = dataKeyPool(key.Plaintext)
	}
	if err != nil {
		slog.Error("generating a new data key failed; sealing goes on with the current one and retries",
			"master_key_id", e.masterKeyID, "sealed", old.seals.Load(), "max_seals", e.maxSeals, "retry_in", dataKeyRetryDelay, "error", err)
		time.Sleep(dataKeyRetryDelay)
		return
	}

	e.mu.Lock()
	e.evictOne()
	e.cache[cacheKey(key.MasterKeyID, key.Wrapped)] = pool
	e.mu.Unlock()
	if !e.active.CompareAndSwap(old, &activeDataKey{wrapped: key.Wrapped, pool: pool}) {
		return // a renewal that started before this one already replaced old
	}
	slog.Info("sealing with a new data key of the cryptography service", "master_key_id", key.MasterKeyID,
		"previous_key_seals", old.seals.Load(), "max_seals", e.maxSeals)
}

// evictOne drops one cached data key other than the active one when the
// cache is full. The caller holds e.mu.
func (e *envelope) evictOne() {
	if len(e.cache) < maxCachedDataKeys {
		return
	}
	active := e.active.Load().pool
	for cached, cachedPool := range e.cache {
		if cachedPool != active {
			delete(e.cache, cached)
			return
		}
	}
}

// open decrypts a ciphertext of format envelopeVersion, unwrapping its data
// key through the service unless it is cached.
func (e *envelope) open(sealed []byte, context string) ([]byte, error) {
	parsed, err := parseEnvelope(sealed)
	if err != nil {
		return nil, err
	}
	pool, err := e.dataKey(parsed.masterKeyID, parsed.wrapped)
	if err != nil {
		return nil, err
	}
	aead := pool.Get().(cipher.AEAD)
	defer pool.Put(aead)
	plaintext, err := aead.Open(nil, parsed.nonce, parsed.ciphertext, []byte(context))
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %v", ErrAuthenticationFailed, context, err)
	}
	return plaintext, nil
}

// envelopeParts are the fields of a ciphertext of format envelopeVersion.
type envelopeParts struct {
	masterKeyID       string
	wrapped           []byte
	nonce, ciphertext []byte
}

// parseEnvelope splits a ciphertext of format envelopeVersion, or returns
// ErrMalformed.
func parseEnvelope(sealed []byte) (envelopeParts, error) {
	if len(sealed) < 2 || sealed[0] != envelopeVersion || len(sealed) < 2+int(sealed[1])+2 {
		return envelopeParts{}, ErrMalformed
	}
	offset := 2 + int(sealed[1])
	wrappedSize := int(binary.BigEndian.Uint16(sealed[offset:]))
	header := offset + 2 + wrappedSize
	if sealed[1] == 0 || wrappedSize == 0 || len(sealed) < header+nonceSize {
		return envelopeParts{}, ErrMalformed
	}
	return envelopeParts{
		masterKeyID: string(sealed[2:offset]),
		wrapped:     sealed[offset+2 : header],
		nonce:       sealed[header : header+nonceSize],
		ciphertext:  sealed[header+nonceSize:],
	}, nil
}

// dataKey returns the cipher pool of a wrapped data key, from the cache or
// unwrapped by the service.
func (e *envelope) dataKey(masterKeyID string, wrapped []byte) (*sync.Pool, error) {
	id := cacheKey(masterKeyID, wrapped)
	e.mu.Lock()
	pool, ok := e.cache[id]
	e.mu.Unlock()
	if ok {
		return pool, nil
	}

	result, err, _ := e.unwraps.Do(id, func() (any, error) {
		return e.unwrap(masterKeyID, wrapped)
	})
	if err != nil {
		return nil, err
	}
	return result.(*sync.Pool), nil
}

// unwrap requests the plaintext of a data key from the service and caches
// its cipher pool.
func (e *envelope) unwrap(masterKeyID string, wrapped []byte) (*sync.Pool, error) {
	// NOTE: Keyring.Open takes no context, so a cache miss waits up to the
	// service timeout whatever the caller's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	key, err := e.service.UnwrapDataKey(ctx, wrapped)
	if err != nil {
		return nil, fmt.Errorf("crypto: unwrap the data key of master key %q: %w", masterKeyID, err)
	}
	if key.MasterKeyID != masterKeyID {
		return nil, fmt.Errorf("%w: the ciphertext names master key %q but its data key is wrapped by %q", ErrMalformed, masterKeyID, key.MasterKeyID)
	}
	pool, err := dataKeyPool(key.Plaintext)
	if err != nil {
		return nil, err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	e.evictOne()
	e.cache[cacheKey(masterKeyID, wrapped)] = pool
	return pool, nil
}

// errEnvelopeWithoutService is returned by Open for a ciphertext sealed with
// a data key when the keyring has no data key service.
var errEnvelopeWithoutService = fmt.Errorf("%w: the ciphertext was sealed with a data key of the cryptography service, and this keyring has no service (set CRYPTO_PROVIDER=cloud)", ErrUnknownKey)
