// Package gatewayauth is the contract between the security authentication
// gateway and the back office. The gateway terminates TLS with client
// certificates and passes the verified certificate's identity on in
// request headers, signed with the gateway's SM2 key. The back office
// accepts the identity only when the signature verifies under the
// gateway's configured public key, the timestamp is recent and the nonce
// is new.
package gatewayauth

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tjfoc/gmsm/sm2"
	"github.com/tjfoc/gmsm/sm3"

	"github.com/sh-preschool/preschool/shared/crypto"
)

// Header names. The gateway removes any of them that a client sent before
// it adds its own.
const (
	HeaderFingerprint = "X-Client-Cert-Fingerprint"
	HeaderSubject     = "X-Client-Cert-Subject"
	HeaderTimestamp   = "X-Gateway-Timestamp"
	HeaderNonce       = "X-Gateway-Nonce"
	HeaderKeyID       = "X-Gateway-Key-ID"
	HeaderSignature   = "X-Gateway-Signature"
)

// Headers lists every header of the contract.
var Headers = []string{HeaderFingerprint, HeaderSubject, HeaderTimestamp, HeaderNonce, HeaderKeyID, HeaderSignature}

// domain starts every signed message.
const domain = "preschool/gateway-identity/v1"

// Identity is a verified client certificate as the gateway saw it.
type Identity struct {
	// Fingerprint is "sm3:" and the hex SM3 digest of the certificate's DER
	// encoding. Bindings to staff accounts use it.
	Fingerprint string
	// Subject is the certificate's subject distinguished name, for display.
	Subject string
}

// Fingerprint returns the identity fingerprint of a certificate.
func Fingerprint(certificate *x509.Certificate) string {
	return "sm3:" + hex.EncodeToString(sm3.Sm3Sum(certificate.Raw))
}

// message returns the signed bytes: the domain, the method, the request URI
// (so a signed identity cannot be replayed to another endpoint), the
// identity, the timestamp and the nonce, each with a 4-byte big-endian
// length.
func message(method, requestURI string, identity Identity, timestamp, nonce string) []byte {
	var out []byte
	for _, field := range []string{domain, method, requestURI, identity.Fingerprint, identity.Subject, timestamp, nonce} {
		out = binary.BigEndian.AppendUint32(out, uint32(len(field)))
		out = append(out, field...)
	}
	return out
}

// Sign adds the signed identity headers to an outgoing request, after
// removing any that are there already.
func Sign(header http.Header, method, requestURI string, identity Identity, signer *crypto.Signer, userID string, now time.Time, nonce string) error {
	for _, name := range Headers {
		header.Del(name)
	}
	timestamp := strconv.FormatInt(now.Unix(), 10)
	signature, err := signer.Sign(message(method, requestURI, identity, timestamp, nonce), userID)
	if err != nil {
		return err
	}
	header.Set(HeaderFingerprint, identity.Fingerprint)
	header.Set(HeaderSubject, base64.RawURLEncoding.EncodeToString([]byte(identity.Subject)))
	header.Set(HeaderTimestamp, timestamp)
	header.Set(HeaderNonce, nonce)
	header.Set(HeaderKeyID, signer.KeyID())
	header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(signature))
	return nil
}

// Errors of Verify.
var (
	ErrMissing = errors.New("gatewayauth: the request carries no gateway identity")
	ErrInvalid = errors.New("gatewayauth: invalid gateway identity")
)

// Verifier checks the gateway's signed identity headers.
type Verifier struct {
	KeyID     string
	PublicKey *sm2.PublicKey
	// UserID is the gateway's SM2 signer identity; empty means
	// crypto.DefaultUserID.
	UserID string
	// MaxSkew bounds how old or how far in the future a timestamp may be.
	MaxSkew time.Duration
}

// Verify returns the identity the gateway signed for r, with the nonce the
// caller must check for reuse within twice MaxSkew. It returns ErrMissing
// when the request has no identity headers and an error wrapping
// ErrInvalid for a wrong key ID, a stale timestamp or a bad signature.
func (v *Verifier) Verify(r *http.Request, now time.Time) (Identity, string, error) {
	header := r.Header
	if header.Get(HeaderSignature) == "" && header.Get(HeaderFingerprint) == "" {
		return Identity{}, "", ErrMissing
	}
	if keyID := header.Get(HeaderKeyID); keyID != v.KeyID {
		return Identity{}, "", fmt.Errorf("%w: key ID %q, want %q", ErrInvalid, keyID, v.KeyID)
	}
	timestamp := header.Get(HeaderTimestamp)
	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return Identity{}, "", fmt.Errorf("%w: timestamp %q is not a Unix time", ErrInvalid, timestamp)
	}
	if skew := now.Sub(time.Unix(seconds, 0)); skew > v.MaxSkew || skew < -v.MaxSkew {
		return Identity{}, "", fmt.Errorf("%w: timestamp is %s away from now, more than %s", ErrInvalid, skew.Round(time.Second), v.MaxSkew)
	}
	nonce := header.Get(HeaderNonce)
	if len(nonce) < 16 || len(nonce) > 64 {
		return Identity{}, "", fmt.Errorf("%w: nonce must be 16 to 64 characters", ErrInvalid)
	}
	subject, err := base64.RawURLEncoding.DecodeString(header.Get(HeaderSubject))
	if err != nil {
		return Identity{}, "", fmt.Errorf("%w: subject is not base64url", ErrInvalid)
	}
	signature, err := base64.StdEncoding.DecodeString(header.Get(HeaderSignature))
	if err != nil {
		return Identity{}, "", fmt.Errorf("%w: signature is not base64", ErrInvalid)
	}
	identity := Identity{Fingerprint: header.Get(HeaderFingerprint), Subject: string(subject)}
	userID := v.UserID
	if userID == "" {
		userID = crypto.DefaultUserID
	}
	if err := crypto.VerifyWithKey(v.PublicKey, message(r.Method, r.URL.RequestURI(), identity, timestamp, nonce), signature, userID); err != nil {
		return Identity{}, "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return identity, nonce, nil
}
