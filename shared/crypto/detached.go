package crypto

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tjfoc/gmsm/sm2"
	"github.com/tjfoc/gmsm/sm3"
)

// A detached signature is a small text file beside the file it covers:
//
//	sm2-signature v1
//	key-id: release-2026
//	user-id: 1234567812345678
//	digest: sm3:66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0
//	signature: MEUCIQ…
//
// The SM2 signature covers the first four lines exactly as written, each
// ending in "\n". So it binds the key ID, the user ID and the SM3 digest of
// the content, and a signature file states what it covers without its
// content at hand. The content's name is not signed, so a file keeps its
// signature when it is renamed.

const (
	detachedHeader    = "sm2-signature v1"
	detachedDigestSM3 = "sm3:"
	sm3Size           = 32
	// MaxDetachedSignatureBytes bounds a detached signature file; a valid
	// one is under 300 bytes unless the user ID is long.
	MaxDetachedSignatureBytes = 16 << 10
)

// ErrDigestMismatch is returned when content does not have the SM3 digest
// that its detached signature names: the content changed after signing, or
// the signature belongs to another file.
var ErrDigestMismatch = errors.New("crypto: content does not match the SM3 digest in its signature")

// DetachedSignature is a parsed detached signature file.
type DetachedSignature struct {
	KeyID  string
	UserID string
	// Digest is the SM3 digest of the signed content.
	Digest []byte
	// Signature is the DER-encoded SM2 signature of the signed lines.
	Signature []byte
}

// DigestSM3 returns the SM3 digest of everything read from content.
func DigestSM3(content io.Reader) ([]byte, error) {
	hash := sm3.New()
	if _, err := io.Copy(hash, content); err != nil {
		return nil, fmt.Errorf("crypto: read content to digest: %w", err)
	}
	return hash.Sum(nil), nil
}

// SignDetached reads content to its end and returns a detached signature of
// it for userID.
func (s *Signer) SignDetached(content io.Reader, userID string) (*DetachedSignature, error) {
	digest, err := DigestSM3(content)
	if err != nil {
		return nil, err
	}
	return s.SignDigest(digest, userID)
}

// SignDigest returns a detached signature for content whose SM3 digest the
// caller has computed.
func (s *Signer) SignDigest(digest []byte, userID string) (*DetachedSignature, error) {
	if len(digest) != sm3Size {
		return nil, fmt.Errorf("crypto: an SM3 digest is %d bytes, not %d", sm3Size, len(digest))
	}
	detached := &DetachedSignature{KeyID: s.keyID, UserID: userID, Digest: bytes.Clone(digest)}
	message, err := detached.signedLines()
	if err != nil {
		return nil, err
	}
	if detached.Signature, err = s.Sign(message, userID); err != nil {
		return nil, err
	}
	return detached, nil
}

// signedLines returns the text that the SM2 signature covers.
func (d *DetachedSignature) signedLines() ([]byte, error) {
	if err := checkSigningKeyID(d.KeyID); err != nil {
		return nil, err
	}
	if err := checkUserID(d.UserID); err != nil {
		return nil, err
	}
	if len(d.Digest) != sm3Size {
		return nil, fmt.Errorf("crypto: an SM3 digest is %d bytes, not %d", sm3Size, len(d.Digest))
	}
	var lines bytes.Buffer
	lines.WriteString(detachedHeader + "\n")
	lines.WriteString("key-id: " + d.KeyID + "\n")
	lines.WriteString("user-id: " + d.UserID + "\n")
	lines.WriteString("digest: " + detachedDigestSM3 + hex.EncodeToString(d.Digest) + "\n")
	return lines.Bytes(), nil
}

// MarshalText returns the signature file's content.
func (d *DetachedSignature) MarshalText() ([]byte, error) {
	lines, err := d.signedLines()
	if err != nil {
		return nil, err
	}
	if len(d.Signature) == 0 {
		return nil, errors.New("crypto: the detached signature has no SM2 signature")
	}
	return append(lines, "signature: "+base64.StdEncoding.EncodeToString(d.Signature)+"\n"...), nil
}

// ParseDetachedSignature parses a signature file written by MarshalText. It
// checks the form only; Verify checks the signature.
func ParseDetachedSignature(data []byte) (*DetachedSignature, error) {
	if len(data) > MaxDetachedSignatureBytes {
		return nil, fmt.Errorf("crypto: a detached signature is at most %d bytes, this one %d", MaxDetachedSignatureBytes, len(data))
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 5 {
		return nil, fmt.Errorf("crypto: a detached signature has 5 lines, this one %d", len(lines))
	}
	if lines[0] != detachedHeader {
		return nil, fmt.Errorf("crypto: detached signature starts with %q, want %q", lines[0], detachedHeader)
	}
	fields := make([]string, 4)
	for i, name := range []string{"key-id", "user-id", "digest", "signature"} {
		value, ok := strings.CutPrefix(lines[i+1], name+": ")
		if !ok {
			return nil, fmt.Errorf("crypto: line %d of the detached signature must start with %q", i+2, name+": ")
		}
		fields[i] = value
	}

	detached := &DetachedSignature{KeyID: fields[0], UserID: fields[1]}
	digestHex, ok := strings.CutPrefix(fields[2], detachedDigestSM3)
	if !ok {
		return nil, fmt.Errorf("crypto: digest %q must start with %q", fields[2], detachedDigestSM3)
	}
	var err error
	if detached.Digest, err = hex.DecodeString(digestHex); err != nil || len(detached.Digest) != sm3Size || digestHex != strings.ToLower(digestHex) {
		return nil, fmt.Errorf("crypto: digest %q must be %d lower-case hex digits", digestHex, 2*sm3Size)
	}
	if detached.Signature, err = base64.StdEncoding.Strict().DecodeString(fields[3]); err != nil || len(detached.Signature) == 0 {
		return nil, fmt.Errorf("crypto: the signature line must hold a base64 DER signature: %v", err)
	}
	if _, err := detached.signedLines(); err != nil {
		return nil, err
	}
	return detached, nil
}

// Verify checks that the SM2 signature over the signature file's lines
// verifies under key, which makes its Digest trustworthy. It does not read
// the content; see Matches, VerifyDetachedWithKey and
// Verifier.VerifyDetached.
func (d *DetachedSignature) Verify(key *sm2.PublicKey) error {
	message, err := d.signedLines()
	if err != nil {
		return err
	}
	return VerifyWithKey(key, message, d.Signature, d.UserID)
}

// Matches reads content to its end and returns an error wrapping
// ErrDigestMismatch unless its SM3 digest is the signature's Digest.
func (d *DetachedSignature) Matches(content io.Reader) error {
	digest, err := DigestSM3(content)
	if err != nil {
		return err
	}
	return d.MatchesDigest(digest)
}

// MatchesDigest returns an error wrapping ErrDigestMismatch unless digest is
// the signature's Digest.
func (d *DetachedSignature) MatchesDigest(digest []byte) error {
	if subtle.ConstantTimeCompare(digest, d.Digest) != 1 {
		return fmt.Errorf("%w: content has sm3:%x, the signature names sm3:%x", ErrDigestMismatch, digest, d.Digest)
	}
	return nil
}

// VerifyDetachedWithKey checks the signature under key, then that content
// matches its digest. Use it where the key comes from configuration by path
// and has no ID of its own: the key ID the signature names is then only a
// label, and the signature must still verify under key.
func VerifyDetachedWithKey(key *sm2.PublicKey, content io.Reader, detached *DetachedSignature) error {
	if err := detached.Verify(key); err != nil {
		return err
	}
	return detached.Matches(content)
}

// VerifyDetached picks the key the signature names, checks the signature,
// then that content matches its digest. Errors wrap ErrUnknownKey,
// ErrInvalidSignature or ErrDigestMismatch.
func (v *Verifier) VerifyDetached(content io.Reader, detached *DetachedSignature) error {
	key, err := v.PublicKey(detached.KeyID)
	if err != nil {
		return err
	}
	return VerifyDetachedWithKey(key, content, detached)
}
