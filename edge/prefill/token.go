package prefill

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sh-preschool/preschool/shared/crypto"
)

// A prefill token carries a fetched certificate from the prefill call to
// the registration without showing its number to the browser: the page
// gets a masked number and the token, the registration sends the token
// back, and the edge opens it. The token is sealed for the parent who
// fetched it, so it cannot be used in anyone else's registration, and it
// names the document holder, so it attaches only to that holder's child or
// guardian. A certificate number typed in by hand cannot claim to have been
// fetched.

// TokenTTL is how long a prefill token stays usable.
const TokenTTL = 2 * time.Hour

// ErrInvalidToken is returned by OpenToken for a token that does not open
// for the parent, is malformed or has expired.
var ErrInvalidToken = errors.New("prefill: invalid or expired token")

// Fetched is a certificate fetched for a parent.
type Fetched struct {
	Type   string
	Number string
	// Holder is the holder's document as "type:number".
	Holder    string
	ExpiresAt time.Time
}

func tokenContext(ownerIndex []byte) string { return "prefill." + hex.EncodeToString(ownerIndex) }

// SealToken returns the token of a fetched certificate for the parent with
// ownerIndex.
func SealToken(keyring *crypto.Keyring, ownerIndex []byte, fetched Fetched) string {
	payload := strings.Join([]string{fetched.Type, fetched.Number, fetched.Holder, strconv.FormatInt(fetched.ExpiresAt.Unix(), 10)}, "\x1f")
	return base64.RawURLEncoding.EncodeToString(keyring.Seal([]byte(payload), tokenContext(ownerIndex)))
}

// OpenToken opens a token sealed for the parent with ownerIndex.
func OpenToken(keyring *crypto.Keyring, ownerIndex []byte, token string, now time.Time) (Fetched, error) {
	if len(token) > 1024 {
		return Fetched{}, ErrInvalidToken
	}
	sealed, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return Fetched{}, ErrInvalidToken
	}
	payload, err := keyring.Open(sealed, tokenContext(ownerIndex))
	if err != nil {
		return Fetched{}, ErrInvalidToken
	}
	parts := strings.Split(string(payload), "\x1f")
	if len(parts) != 4 {
		return Fetched{}, ErrInvalidToken
	}
	expires, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || now.Unix() >= expires {
		return Fetched{}, ErrInvalidToken
	}
	return Fetched{Type: parts[0], Number: parts[1], Holder: parts[2], ExpiresAt: time.Unix(expires, 0)}, nil
}

// MaskNumber keeps the first and last few characters of a certificate
// number, enough for the parent to recognise it.
func MaskNumber(number string) string {
	runes := []rune(number)
	if len(runes) <= 4 {
		return strings.Repeat("*", len(runes))
	}
	keep := max(1, len(runes)/4)
	return string(runes[:keep]) + strings.Repeat("*", len(runes)-2*keep) + string(runes[len(runes)-keep:])
}
