// Package session issues and opens session tokens: a compact binary payload
// sealed with SM4-GCM under the keyring's active key, base64url. Sealing
// keeps the payload (the subject and the person's name) unreadable in the
// cookie, and GCM's tag makes a changed token fail to open.
package session

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// ErrInvalid is returned by Open for a token that is malformed, sealed with
// a key the keyring does not hold, sealed for another purpose or expired.
var ErrInvalid = errors.New("session: invalid or expired token")

const version = "v3"

// strictBase64 rejects unused bits that are not zero, so that, with
// isTokenText, a token has exactly one spelling.
var strictBase64 = base64.RawURLEncoding.Strict()

// Sealer seals and opens data for a context; *crypto.Keyring is one.
type Sealer interface {
	Seal(plaintext []byte, context string) []byte
	Open(sealed []byte, context string) ([]byte, error)
}

// Claims identify a signed-in person; times are Unix seconds. SessionID
// names this session, so that signing out can revoke it.
type Claims struct {
	Subject   string
	Name      string
	SessionID string
	IssuedAt  int64
	ExpiresAt int64
}

// NewSessionID returns a random session ID.
func NewSessionID() string {
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return hex.EncodeToString(id)
}

// Issue returns a token carrying claims, sealed for purpose ("parent",
// "staff"). A token issued for one purpose does not open for another.
func Issue(sealer Sealer, purpose string, claims Claims) string {
	payload := make([]byte, 0, 48+len(claims.Subject)+len(claims.Name))
	for _, text := range []string{claims.Subject, claims.Name, claims.SessionID} {
		payload = binary.AppendUvarint(payload, uint64(len(text)))
		payload = append(payload, text...)
	}
	payload = binary.AppendVarint(payload, claims.IssuedAt)
	payload = binary.AppendVarint(payload, claims.ExpiresAt)
	return version + "." + strictBase64.EncodeToString(sealer.Seal(payload, "session."+purpose))
}

// Open checks and opens a token issued for purpose and returns its claims,
// or ErrInvalid.
func Open(sealer Sealer, purpose, token string, now time.Time) (Claims, error) {
	encoded, found := strings.CutPrefix(token, version+".")
	if !found || len(token) > 2048 || !isTokenText(encoded) {
		return Claims{}, ErrInvalid
	}
	sealed, err := strictBase64.DecodeString(encoded)
	if err != nil {
		return Claims{}, ErrInvalid
	}
	payload, err := sealer.Open(sealed, "session."+purpose)
	if err != nil {
		return Claims{}, ErrInvalid
	}
	claims, err := decodeClaims(payload)
	if err != nil || claims.Subject == "" || now.Unix() >= claims.ExpiresAt {
		return Claims{}, ErrInvalid
	}
	return claims, nil
}

// isTokenText reports whether s has only base64url characters: the base64
// decoder skips line breaks, and a token must have one spelling.
func isTokenText(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tokenAlphabet[s[i]] {
			return false
		}
	}
	return true
}

// tokenAlphabet marks the base64url characters. A table lookup per byte
// took 74 to 90 ns for a 238-character token (BenchmarkIsTokenText),
// against 137 to 170 ns for the range comparisons it replaced.
var tokenAlphabet = func() (alphabet [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		alphabet[c] = true
	}
	return alphabet
}()

func decodeClaims(payload []byte) (Claims, error) {
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
	var claims Claims
	var ok [5]bool
	claims.Subject, ok[0] = text()
	claims.Name, ok[1] = text()
	claims.SessionID, ok[2] = text()
	claims.IssuedAt, ok[3] = number()
	claims.ExpiresAt, ok[4] = number()
	if ok != [5]bool{true, true, true, true, true} || len(payload) != 0 {
		return Claims{}, ErrInvalid
	}
	return claims, nil
}
