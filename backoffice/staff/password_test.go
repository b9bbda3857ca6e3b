package staff

import (
	"bytes"
	"crypto/pbkdf2"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/tjfoc/gmsm/sm3"

	"github.com/sh-preschool/preschool/shared/apierror"
)

// referenceHMACSM3 is HMAC (RFC 2104) over SM3 written out by hand from
// the one-shot sm3.Sm3Sum, independent of crypto/hmac and of the streaming
// hash that crypto/pbkdf2 drives.
func referenceHMACSM3(key, message []byte) []byte {
	const blockSize = 64
	if len(key) > blockSize {
		key = sm3.Sm3Sum(key)
	}
	padded := make([]byte, blockSize)
	copy(padded, key)
	inner := make([]byte, 0, blockSize+len(message))
	outer := make([]byte, 0, blockSize+32)
	for _, b := range padded {
		inner = append(inner, b^0x36)
		outer = append(outer, b^0x5c)
	}
	inner = append(inner, message...)
	outer = append(outer, sm3.Sm3Sum(inner)...)
	return sm3.Sm3Sum(outer)
}

// referencePBKDF2 is PBKDF2 (RFC 8018, section 5.2) over referenceHMACSM3.
func referencePBKDF2(password, salt []byte, iterations, keyLength int) []byte {
	var derived []byte
	for block := uint32(1); len(derived) < keyLength; block++ {
		first := append(append([]byte{}, salt...), byte(block>>24), byte(block>>16), byte(block>>8), byte(block))
		u := referenceHMACSM3(password, first)
		t := append([]byte{}, u...)
		for n := 2; n <= iterations; n++ {
			u = referenceHMACSM3(password, u)
			for i := range t {
				t[i] ^= u[i]
			}
		}
		derived = append(derived, t...)
	}
	return derived[:keyLength]
}

func TestSM3StandardVector(t *testing.T) {
	// GB/T 32905-2016, example 1: SM3("abc").
	want := "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
	if got := hex.EncodeToString(sm3.Sm3Sum([]byte("abc"))); got != want {
		t.Fatalf("SM3(abc) = %s, want %s", got, want)
	}
}

func TestPBKDF2SM3MatchesReference(t *testing.T) {
	salt := []byte("0123456789abcdef")
	cases := []struct {
		name       string
		password   string
		iterations int
	}{
		{"one iteration", "Correct#Horse9", 1},
		{"two iterations", "Correct#Horse9", 2},
		{"thousand iterations", "Correct#Horse9", 1000},
		{"password longer than a block", strings.Repeat("Long#Password9", 6), 1000},
		{"Chinese password", "上海学前教育Aa1!", 1000},
		{"current setting", "Correct#Horse9", PasswordIterations},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			got, err := pbkdf2.Key(sm3.New, test.password, salt, test.iterations, passwordKeySize)
			if err != nil {
				t.Fatal(err)
			}
			want := referencePBKDF2([]byte(test.password), salt, test.iterations, passwordKeySize)
			if !bytes.Equal(got, want) {
				t.Errorf("PBKDF2-HMAC-SM3 = %x, reference = %x", got, want)
			}
		})
	}
}

func TestHashPasswordFormat(t *testing.T) {
	encoded, err := HashPassword("Correct#Horse9")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 {
		t.Fatalf("hash %q has %d parts, want 4", encoded, len(parts))
	}
	if parts[0] != "pbkdf2-sm3" || parts[1] != "100000" {
		t.Errorf("hash prefix = %s$%s, want pbkdf2-sm3$100000", parts[0], parts[1])
	}
	salt, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(salt) != 16 {
		t.Fatalf("salt %q decodes to %d bytes (%v), want 16", parts[2], len(salt), err)
	}
	key, err := base64.StdEncoding.DecodeString(parts[3])
	if err != nil || len(key) != 32 {
		t.Fatalf("key %q decodes to %d bytes (%v), want 32", parts[3], len(key), err)
	}
	if want := referencePBKDF2([]byte("Correct#Horse9"), salt, PasswordIterations, 32); !bytes.Equal(key, want) {
		t.Errorf("stored key = %x, reference = %x", key, want)
	}
	again, err := HashPassword("Correct#Horse9")
	if err != nil {
		t.Fatal(err)
	}
	if again == encoded {
		t.Errorf("two hashes of one password are equal, so the salt is not random")
	}
}

func TestVerifyPassword(t *testing.T) {
	current, err := HashPassword("Correct#Horse9")
	if err != nil {
		t.Fatal(err)
	}
	old, err := hashPassword("Correct#Horse9", 1000)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                string
		encoded, password   string
		wantMatch, wantSlow bool
	}{
		{"right password", current, "Correct#Horse9", true, false},
		{"wrong password", current, "Correct#Horse8", false, false},
		{"empty password", current, "", false, false},
		{"fewer iterations", old, "Correct#Horse9", true, true},
		{"fewer iterations wrong password", old, "wrong", false, false},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			match, rehash, err := VerifyPassword(test.encoded, test.password)
			if err != nil {
				t.Fatal(err)
			}
			if match != test.wantMatch {
				t.Errorf("match = %v, want %v", match, test.wantMatch)
			}
			if rehash != test.wantSlow {
				t.Errorf("rehash = %v, want %v", rehash, test.wantSlow)
			}
		})
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	for _, encoded := range []string{
		"",
		"plain",
		"bcrypt$10$abc$def",
		"pbkdf2-sm3$0$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
		"pbkdf2-sm3$99999999999$MDEyMzQ1Njc4OWFiY2RlZg==$AAAA",
		"pbkdf2-sm3$1000$not base64$AAAA",
		"pbkdf2-sm3$1000$MDEyMzQ1Njc4OWFiY2RlZg==$",
	} {
		match, _, err := VerifyPassword(encoded, "Correct#Horse9")
		if err == nil || match {
			t.Errorf("VerifyPassword(%q) = %v, %v, want an error and no match", encoded, match, err)
		}
	}
}

func TestPasswordRules(t *testing.T) {
	cases := []struct {
		name, password, username string
		want                     *apierror.Error
	}{
		{"eleven characters", "Abcdefg1!xy", "alice", ErrPasswordTooShort},
		{"twelve characters", "Abcdefg1!xyz", "alice", nil},
		{"one class", "abcdefghijklmn", "alice", ErrPasswordTooSimple},
		{"two classes", "abcdefgh123456", "alice", ErrPasswordTooSimple},
		{"upper lower digit", "Abcdefgh123456", "alice", nil},
		{"lower digit symbol", "abcdefgh1234!@", "alice", nil},
		{"upper lower symbol", "Abcdefgh-ijk-lm", "alice", nil},
		{"space counts as symbol", "abcdefgh 123456", "alice", nil},
		{"Chinese characters count towards length", "学前教育学前教育Ab1!", "alice", nil},
		{"Chinese characters are no class", "学前教育学前教育学前教育ab", "alice", ErrPasswordTooSimple},
		{"contains username", "My-xuhui.admin-9", "xuhui.admin", ErrPasswordHasUsername},
		{"contains username in upper case", "My-XUHUI.ADMIN-9", "xuhui.admin", ErrPasswordHasUsername},
		{"control character", "Abcdefgh123\n456", "alice", ErrPasswordInvalidChar},
		{"129 characters", strings.Repeat("Aa1!", 32) + "x", "alice", ErrPasswordTooLong},
		{"128 characters", strings.Repeat("Aa1!", 32), "alice", nil},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			err := CheckPasswordRules(test.password, test.username)
			if test.want == nil {
				if err != nil {
					t.Errorf("CheckPasswordRules(%q) = %v, want nil", test.password, err)
				}
				return
			}
			if !errors.Is(err, test.want) {
				t.Errorf("CheckPasswordRules(%q) = %v, want %s", test.password, err, test.want.Code)
			}
		})
	}
}

func TestPasswordRuleCodesDiffer(t *testing.T) {
	codes := map[string]bool{}
	for _, err := range []*apierror.Error{ErrPasswordTooShort, ErrPasswordTooLong, ErrPasswordInvalidChar,
		ErrPasswordTooSimple, ErrPasswordHasUsername, ErrPasswordReused} {
		if codes[err.Code] {
			t.Errorf("code %s is used by two rules", err.Code)
		}
		codes[err.Code] = true
	}
}

func TestGenerateTemporaryPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		password := GenerateTemporaryPassword("abc")
		if err := CheckPasswordRules(password, "abc"); err != nil {
			t.Fatalf("generated password %q breaks a rule: %v", password, err)
		}
		if len(password) != temporaryPasswordLength {
			t.Fatalf("generated password %q has %d characters, want %d", password, len(password), temporaryPasswordLength)
		}
		if seen[password] {
			t.Fatalf("generated password %q twice", password)
		}
		seen[password] = true
	}
}

func TestPasswordInHistory(t *testing.T) {
	var hashes []string
	for _, password := range []string{"First#Password1", "Second#Password2"} {
		encoded, err := hashPassword(password, 1000)
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, encoded)
	}
	hashes = append(hashes, "damaged")
	for password, want := range map[string]bool{"First#Password1": true, "Second#Password2": true, "Third#Password3": false} {
		got, err := passwordInHistory(password, hashes)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("passwordInHistory(%q) = %v, want %v", password, got, want)
		}
	}
}

// BenchmarkHashPassword measures one hash at PasswordIterations, the
// figure the PasswordIterations comment gives.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("Correct#Horse9"); err != nil {
			b.Fatal(err)
		}
	}
}
