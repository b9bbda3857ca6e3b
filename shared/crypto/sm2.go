package crypto

import (
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"

	"github.com/tjfoc/gmsm/sm2"
)

// DefaultUserID is the SM2 signer identity (ID_A of GB/T 32918.2) that
// GM/T 0009-2012 names for signers without an agreed identity. A signature
// verifies only with the user ID it was made with, so other systems that
// check our signatures must use the same one.
const DefaultUserID = "1234567812345678"

// maxUserIDBytes is the longest user ID: GB/T 32918.2 stores its length in
// bits in two bytes (ENTL_A), so at most 8191 bytes fit.
const maxUserIDBytes = 8191

// maxSigningKeyIDBytes is the longest SM2 key ID.
const maxSigningKeyIDBytes = 64

// ErrInvalidSignature is returned when an SM2 signature is malformed or does
// not verify under the named key and user ID.
var ErrInvalidSignature = errors.New("crypto: invalid SM2 signature")

// Signer signs with one SM2 private key, named by its key ID so that
// verifiers can pick the matching public key. It is safe for concurrent use.
type Signer struct {
	keyID string
	key   *sm2.PrivateKey
}

// NewSigner returns a signer for key under keyID. Key IDs are 1 to 64
// letters, digits, '.', '_' or '-'.
func NewSigner(keyID string, key *sm2.PrivateKey) (*Signer, error) {
	if err := checkSigningKeyID(keyID); err != nil {
		return nil, err
	}
	if err := checkPrivateKey(key); err != nil {
		return nil, err
	}
	return &Signer{keyID: keyID, key: key}, nil
}

// GenerateSigner returns a signer with a fresh random key.
func GenerateSigner(keyID string) (*Signer, error) {
	key, err := GenerateSM2Key()
	if err != nil {
		return nil, err
	}
	return NewSigner(keyID, key)
}

// LoadSigner reads an SM2 private key from a PEM file (see
// ParseSM2PrivateKeyPEM) and returns a signer for it under keyID.
func LoadSigner(keyID, path string) (*Signer, error) {
	key, err := LoadSM2PrivateKeyFile(path)
	if err != nil {
		return nil, err
	}
	return NewSigner(keyID, key)
}

// GenerateSM2Key returns a fresh key pair on the SM2 recommended curve.
func GenerateSM2Key() (*sm2.PrivateKey, error) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("crypto: generate SM2 key: %w", err)
	}
	return key, nil
}

// KeyID returns the ID that names the signer's key.
func (s *Signer) KeyID() string { return s.keyID }

// PublicKey returns the public half of the signer's key.
func (s *Signer) PublicKey() *sm2.PublicKey { return &s.key.PublicKey }

// Sign returns the DER-encoded SM2 signature (SEQUENCE of r and s) of
// message for the signer identity userID, usually DefaultUserID. SM2 hashes
// the message itself with SM3, after the identity's Z value.
func (s *Signer) Sign(message []byte, userID string) ([]byte, error) {
	if err := checkUserID(userID); err != nil {
		return nil, err
	}
	r, sv, err := sm2.Sm2Sign(s.key, message, []byte(userID), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("crypto: SM2 sign: %w", err)
	}
	return asn1.Marshal(derSignature{R: r, S: sv})
}

// Verifier holds SM2 public keys by key ID, so that signatures made with a
// retired key still verify after a new one takes over. It is safe for
// concurrent use.
type Verifier struct {
	keys map[string]*sm2.PublicKey
}

// NewVerifier returns a verifier for the public keys by key ID.
func NewVerifier(keys map[string]*sm2.PublicKey) (*Verifier, error) {
	verifier := &Verifier{keys: make(map[string]*sm2.PublicKey, len(keys))}
	for keyID, key := range keys {
		if err := checkSigningKeyID(keyID); err != nil {
			return nil, err
		}
		if err := checkPublicKey(key); err != nil {
			return nil, fmt.Errorf("crypto: public key %q: %w", keyID, err)
		}
		verifier.keys[keyID] = key
	}
	return verifier, nil
}

// KeyIDs returns the IDs of the verifier's keys in sorted order.
func (v *Verifier) KeyIDs() []string {
	return slices.Sorted(maps.Keys(v.keys))
}

// Has reports whether the verifier has the key named keyID.
func (v *Verifier) Has(keyID string) bool {
	_, ok := v.keys[keyID]
	return ok
}

// PublicKey returns the key named keyID, or an error wrapping ErrUnknownKey.
func (v *Verifier) PublicKey(keyID string) (*sm2.PublicKey, error) {
	key, ok := v.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("%w %q: the known key IDs are %q", ErrUnknownKey, keyID, v.KeyIDs())
	}
	return key, nil
}

// Verify checks a DER-encoded SM2 signature of message made by the key
// named keyID for userID. It returns an error wrapping ErrUnknownKey when
// the verifier does not hold that key, and one wrapping ErrInvalidSignature
// when the signature is malformed or does not verify.
func (v *Verifier) Verify(keyID string, message, signature []byte, userID string) error {
	key, err := v.PublicKey(keyID)
	if err != nil {
		return err
	}
	return VerifyWithKey(key, message, signature, userID)
}

// VerifyWithKey checks a DER-encoded SM2 signature of message under key for
// userID; its errors wrap ErrInvalidSignature.
func VerifyWithKey(key *sm2.PublicKey, message, signature []byte, userID string) error {
	if err := checkUserID(userID); err != nil {
		return err
	}
	r, s, err := parseDERSignature(signature)
	if err != nil {
		return err
	}
	if !sm2.Sm2Verify(key, message, []byte(userID), r, s) {
		return fmt.Errorf("%w: it does not verify for user ID %q", ErrInvalidSignature, userID)
	}
	return nil
}

// derSignature is the ASN.1 form of an SM2 signature (GB/T 35276): a
// SEQUENCE of the INTEGERs r and s.
type derSignature struct {
	R, S *big.Int
}

func parseDERSignature(der []byte) (r, s *big.Int, err error) {
	var signature derSignature
	rest, err := asn1.Unmarshal(der, &signature)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: not a DER SEQUENCE of r and s: %v", ErrInvalidSignature, err)
	}
	if len(rest) > 0 {
		return nil, nil, fmt.Errorf("%w: %d bytes after the DER signature", ErrInvalidSignature, len(rest))
	}
	// tjfoc/gmsm's Sm2Verify checks 1 <= r, s < n itself.
	return signature.R, signature.S, nil
}

// checkSigningKeyID accepts 1 to 64 letters, digits, '.', '_' and '-', so a
// key ID fits on one line of a detached signature and in a file name.
func checkSigningKeyID(keyID string) error {
	if keyID == "" || len(keyID) > maxSigningKeyIDBytes {
		return fmt.Errorf("crypto: SM2 key ID %q must be 1 to %d characters", keyID, maxSigningKeyIDBytes)
	}
	for _, c := range keyID {
		isLetterOrDigit := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !isLetterOrDigit && c != '.' && c != '_' && c != '-' {
			return fmt.Errorf("crypto: SM2 key ID %q may contain only letters, digits, '.', '_' and '-'", keyID)
		}
	}
	return nil
}

// checkUserID rejects an empty user ID, because tjfoc/gmsm silently signs
// with DefaultUserID in its place and a caller's missing setting would go
// unnoticed. Control characters are rejected so that a user ID fits on one
// line of a detached signature.
func checkUserID(userID string) error {
	if userID == "" {
		return errors.New("crypto: SM2 user ID is empty: pass crypto.DefaultUserID unless another one is agreed")
	}
	if len(userID) > maxUserIDBytes {
		return fmt.Errorf("crypto: SM2 user ID is %d bytes, more than the %d that GB/T 32918.2 allows", len(userID), maxUserIDBytes)
	}
	for _, c := range []byte(userID) {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("crypto: SM2 user ID %q contains a control character", userID)
		}
	}
	return nil
}

func checkPrivateKey(key *sm2.PrivateKey) error {
	if key == nil || key.D == nil {
		return errors.New("crypto: SM2 private key is missing")
	}
	// GB/T 32918.1 takes private keys from [1, n-2].
	limit := new(big.Int).Sub(sm2.P256Sm2().Params().N, big.NewInt(1))
	if key.D.Sign() <= 0 || key.D.Cmp(limit) >= 0 {
		return errors.New("crypto: SM2 private key is out of range [1, n-2]")
	}
	if err := checkPublicKey(&key.PublicKey); err != nil {
		return err
	}
	x, y := key.Curve.ScalarBaseMult(key.D.Bytes())
	if x.Cmp(key.X) != 0 || y.Cmp(key.Y) != 0 {
		return errors.New("crypto: the SM2 public key does not belong to the private key")
	}
	return nil
}

func checkPublicKey(key *sm2.PublicKey) error {
	if key == nil || key.X == nil || key.Y == nil {
		return errors.New("crypto: SM2 public key is missing")
	}
	if key.Curve == nil || key.Curve.Params() != sm2.P256Sm2().Params() {
		return errors.New("crypto: the public key is not on the SM2 recommended curve")
	}
	if !key.Curve.IsOnCurve(key.X, key.Y) {
		return errors.New("crypto: the SM2 public key is not a point on the curve")
	}
	return nil
}
