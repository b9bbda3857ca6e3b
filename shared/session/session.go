// Package session signs and verifies session tokens: a compact binary
// payload and its HMAC-SM3, both base64url, joined by dots. Every request of
// a signed-in parent verifies one, so the payload is not JSON.
package session

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"github.com/tjfoc/gmsm/sm3"
)

// ErrInvalid is returned by Verify for a token that is malformed, signed with
// another key or expired.
var ErrInvalid = errors.New("session: invalid or expired token")

const version = "v2"

// strictBase64 rejects unused bits that are not zero, so that, with
// isTokenText, a token has exactly one spelling.
var strictBase64 = base64.RawURLEncoding.Strict()

// Claims identify a signed-in person; times are Unix seconds.
type Claims struct {
	Subject   string
	Name      string
	IssuedAt  int64
	ExpiresAt int64
}

// Sign returns a token carrying claims, signed with key.
func Sign(key []byte, claims Claims) string {
	payload := make([]byte, 0, 32+len(claims.Subject)+len(claims.Name))
	payload = binary.AppendUvarint(payload, uint64(len(claims.Subject)))
	payload = append(payload, claims.Subject...)
	payload = binary.AppendUvarint(payload, uint64(len(claims.Name)))
	payload = append(payload, claims.Name...)
	payload = binary.AppendVarint(payload, claims.IssuedAt)
	payload = binary.AppendVarint(payload, claims.ExpiresAt)
	encoded := base64.RawURLEncoding.EncodeToString(payload)
	return version + "." + encoded + "." + base64.RawURLEncoding.EncodeToString(mac(key, encoded))
}

// Verify checks the signature and expiry of token and returns its claims,
// or ErrInvalid.
func Verify(key []byte, token string, now time.Time) (Claims, error) {
	var claims Claims
	rest, found := strings.CutPrefix(token, version+".")
	if !found || len(token) > 2048 || !isTokenText(rest) {
		return claims, ErrInvalid
	}
	encoded, signature, found := strings.Cut(rest, ".")
	if !found {
		return claims, ErrInvalid
	}
	given, err := strictBase64.DecodeString(signature)
	if err != nil || !hmac.Equal(given, mac(key, encoded)) {
		return claims, ErrInvalid
	}
	payload, err := strictBase64.DecodeString(encoded)
	if err != nil {
		return claims, ErrInvalid
	}
	if claims, err = decodeClaims(payload); err != nil {
		return claims, ErrInvalid
	}
	if claims.Subject == "" || now.Unix() >= claims.ExpiresAt {
		return claims, ErrInvalid
	}
	return claims, nil
}

// isTokenText reports whether s has only base64url characters and dots:
// the base64 decoder skips line breaks, and a token must have one spelling.
func isTokenText(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func decodeClaims(payload []byte) (Claims, error) {
	var claims Claims
	text := func() (string, bool) {
		length, n := binary.Uvarint(payload)
		if n <= 0 || length > uint64(len(payload)-n) {
			return "", false
		}
		value := string(payload[n : n+int(length)])
		payload = payload[n+int(length):]
		return value, true
	}
	number := func() (int64, bool) {
		value, n := binary.Varint(payload)
		if n <= 0 {
			return 0, false
		}
		payload = payload[n:]
		return value, true
	}
	var ok [4]bool
	claims.Subject, ok[0] = text()
	claims.Name, ok[1] = text()
	claims.IssuedAt, ok[2] = number()
	claims.ExpiresAt, ok[3] = number()
	if ok != [4]bool{true, true, true, true} || len(payload) != 0 {
		return Claims{}, ErrInvalid
	}
	return claims, nil
}

func mac(key []byte, encoded string) []byte {
	h := hmac.New(sm3.New, key)
	h.Write([]byte(encoded))
	return h.Sum(nil)
}
