// Package session signs and verifies the session tokens of signed-in
// parents: a JSON payload and its HMAC-SM3, both base64url, joined by dots.
package session

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tjfoc/gmsm/sm3"
)

// ErrInvalid is returned by Verify for a token that is malformed, signed with
// another key or expired.
var ErrInvalid = errors.New("session: invalid or expired token")

const version = "v1"

// Claims identify a parent signed in through the unified identity service.
type Claims struct {
	Subject   string `json:"sub"`
	Name      string `json:"name,omitempty"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

// Sign returns a token carrying claims, signed with key.
func Sign(key []byte, claims Claims) string {
	payload, _ := json.Marshal(claims) // Claims has only strings and integers
	encoded := base64.RawURLEncoding.EncodeToString(payload)
	return version + "." + encoded + "." + base64.RawURLEncoding.EncodeToString(mac(key, encoded))
}

// Verify checks the signature and expiry of token and returns its claims,
// or ErrInvalid.
func Verify(key []byte, token string, now time.Time) (Claims, error) {
	var claims Claims
	rest, found := strings.CutPrefix(token, version+".")
	if !found || len(token) > 2048 {
		return claims, ErrInvalid
	}
	encoded, signature, found := strings.Cut(rest, ".")
	if !found {
		return claims, ErrInvalid
	}
	given, err := base64.RawURLEncoding.DecodeString(signature)
	if err != nil || !hmac.Equal(given, mac(key, encoded)) {
		return claims, ErrInvalid
	}
	payload, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return claims, ErrInvalid
	}
	if claims.Subject == "" || now.Unix() >= claims.ExpiresAt {
		return claims, ErrInvalid
	}
	return claims, nil
}

func mac(key []byte, encoded string) []byte {
	h := hmac.New(sm3.New, key)
	h.Write([]byte(encoded))
	return h.Sum(nil)
}
