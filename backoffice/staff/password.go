package staff

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tjfoc/gmsm/sm3"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// Password hashing: PBKDF2 with HMAC-SM3, stored as
// "pbkdf2-sm3$<iterations>$<salt base64>$<key base64>" (standard base64
// with padding).
const (
	passwordScheme = "pbkdf2-sm3"
	// PasswordIterations is the current PBKDF2 iteration count. One hash
	// took about 120 ms (500 ms under the race detector) on one core of the
	// 2-vCPU AMD EPYC development machine with Go 1.26.8; run
	// BenchmarkHashPassword to measure another machine. A stored hash with
	// fewer iterations is replaced at the next successful sign-in.
	PasswordIterations = 100_000
	passwordSaltSize   = 16
	// passwordKeySize must stay at most 32 bytes (one SM3 output). For a
	// longer key PBKDF2 calls Sum with a non-empty slice, and the Sum of
	// tjfoc/gmsm v1.4.1's SM3 hashes that slice instead of only appending
	// to it, which would give wrong keys.
	passwordKeySize = 32
	// maxStoredIterations bounds the iteration count read from a stored
	// hash, so a corrupted row cannot stall a sign-in.
	maxStoredIterations = 10_000_000
)

// Password rules for a new password.
const (
	MinPasswordLength = 12
	// MaxPasswordLength bounds the work and storage a password costs.
	MaxPasswordLength = 128
	// PasswordHistorySize is how many of the latest passwords (the current
	// one included) a new password must not repeat.
	PasswordHistorySize = 5
	// PasswordMaxAgeDays is how long a password stays valid; after that
	// the next session may only change the password.
	PasswordMaxAgeDays = 90
)

// Errors of the password rules, each with its own code.
var (
	ErrPasswordTooShort        = apierror.Invalid("newPassword", "password_too_short", "新密码长度至少为 12 个字符。")
	ErrPasswordTooLong         = apierror.Invalid("newPassword", "password_too_long", "新密码长度不能超过 128 个字符。")
	ErrPasswordInvalidChar     = apierror.Invalid("newPassword", "password_invalid_character", "新密码不能包含控制字符。")
	ErrPasswordTooSimple       = apierror.Invalid("newPassword", "password_too_simple", "新密码须包含大写字母、小写字母、数字、符号中的至少三类。")
	ErrPasswordHasUsername     = apierror.Invalid("newPassword", "password_contains_username", "新密码不能包含用户名。")
	ErrPasswordReused          = apierror.Invalid("newPassword", "password_reused", "新密码不能与最近 5 次使用过的密码相同。")
	errMalformedPasswordHash   = errors.New("malformed password hash")
	errUnsupportedPasswordHash = errors.New("unsupported password hash scheme")
)

// HashPassword returns the encoded PBKDF2-HMAC-SM3 hash of password with a
// fresh random salt and PasswordIterations.
func HashPassword(password string) (string, error) {
	return hashPassword(password, PasswordIterations)
}

func hashPassword(password string, iterations int) (string, error) {
	salt := make([]byte, passwordSaltSize)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key, err := pbkdf2.Key(sm3.New, password, salt, iterations, passwordKeySize)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return passwordScheme + "$" + strconv.Itoa(iterations) + "$" +
		base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(key), nil
}

// parsedHash is a decoded stored password hash.
type parsedHash struct {
	iterations int
	salt, key  []byte
}

func parsePasswordHash(encoded string) (parsedHash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 {
		return parsedHash{}, errMalformedPasswordHash
	}
	if parts[0] != passwordScheme {
		return parsedHash{}, errUnsupportedPasswordHash
	}
	iterations, err := strconv.Atoi(parts[1])
	if err != nil || iterations < 1 || iterations > maxStoredIterations {
		return parsedHash{}, errMalformedPasswordHash
	}
	salt, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(salt) == 0 {
		return parsedHash{}, errMalformedPasswordHash
	}
	key, err := base64.StdEncoding.DecodeString(parts[3])
	if err != nil || len(key) == 0 || len(key) > passwordKeySize {
		return parsedHash{}, errMalformedPasswordHash
	}
	return parsedHash{iterations: iterations, salt: salt, key: key}, nil
}

// VerifyPassword reports whether password matches the encoded hash, with a
// constant-time comparison of the derived keys, and whether the hash should
// be replaced because it has fewer than PasswordIterations iterations.
func VerifyPassword(encoded, password string) (match, rehash bool, err error) {
	parsed, err := parsePasswordHash(encoded)
	if err != nil {
		return false, false, err
	}
	key, err := pbkdf2.Key(sm3.New, password, parsed.salt, parsed.iterations, len(parsed.key))
	if err != nil {
		return false, false, fmt.Errorf("hash password: %w", err)
	}
	match = subtle.ConstantTimeCompare(key, parsed.key) == 1
	return match, match && parsed.iterations < PasswordIterations, nil
}

// dummyPasswordHash is verified against when the username is unknown, so an
// unknown user costs as much time as a known one.
var dummyPasswordHash = mustHash("dummy password for unknown users")

func mustHash(password string) string {
	encoded, err := HashPassword(password)
	if err != nil {
		panic(err)
	}
	return encoded
}

// CheckPasswordRules checks a new password against the length, character
// class and username rules. The history rule needs the stored hashes and is
// checked by the caller (see passwordInHistory).
func CheckPasswordRules(password, username string) error {
	length := utf8.RuneCountInString(password)
	if length < MinPasswordLength {
		return ErrPasswordTooShort
	}
	if length > MaxPasswordLength {
		return ErrPasswordTooLong
	}
	var upper, lower, digit, symbol bool
	for _, r := range password {
		switch {
		case unicode.IsControl(r):
			return ErrPasswordInvalidChar
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		case unicode.IsPunct(r) || unicode.IsSymbol(r) || r == ' ':
			symbol = true
		}
	}
	classes := 0
	for _, present := range []bool{upper, lower, digit, symbol} {
		if present {
			classes++
		}
	}
	if classes < 3 {
		return ErrPasswordTooSimple
	}
	if username != "" && strings.Contains(strings.ToLower(password), strings.ToLower(username)) {
		return ErrPasswordHasUsername
	}
	return nil
}

// passwordInHistory reports whether password matches any of the stored
// hashes. Each comparison costs one PBKDF2 run.
func passwordInHistory(password string, hashes []string) (bool, error) {
	for _, encoded := range hashes {
		match, _, err := VerifyPassword(encoded, password)
		if errors.Is(err, errMalformedPasswordHash) || errors.Is(err, errUnsupportedPasswordHash) {
			continue
		}
		if err != nil {
			return false, err
		}
		if match {
			return true, nil
		}
	}
	return false, nil
}

// Alphabets of generated passwords, without characters that are easy to
// misread (0 O o 1 l I).
const (
	upperAlphabet  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	lowerAlphabet  = "abcdefghijkmnpqrstuvwxyz"
	digitAlphabet  = "23456789"
	symbolAlphabet = "!#$%&*+-=?@^_"
)

// temporaryPasswordLength gives about 95 bits of entropy over the 60
// characters of the alphabets above.
const temporaryPasswordLength = 16

// GenerateTemporaryPassword returns a random password that meets the rules
// for username: 16 characters with at least one of each character class.
func GenerateTemporaryPassword(username string) string {
	all := upperAlphabet + lowerAlphabet + digitAlphabet + symbolAlphabet
	for {
		password := make([]byte, temporaryPasswordLength)
		for i, alphabet := range []string{upperAlphabet, lowerAlphabet, digitAlphabet, symbolAlphabet} {
			password[i] = alphabet[randomIndex(len(alphabet))]
		}
		for i := 4; i < len(password); i++ {
			password[i] = all[randomIndex(len(all))]
		}
		for i := len(password) - 1; i > 0; i-- {
			j := randomIndex(i + 1)
			password[i], password[j] = password[j], password[i]
		}
		if CheckPasswordRules(string(password), username) == nil {
			return string(password)
		}
	}
}

// randomIndex returns a uniform random integer in [0, n) for n <= 256.
func randomIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err) // crypto/rand.Read does not fail on supported platforms
		}
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}
