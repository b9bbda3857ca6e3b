package session

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/shared/crypto"
)

func newKeyring(t testing.TB) *crypto.Keyring {
	t.Helper()
	keyring, err := crypto.NewKeyring(crypto.GenerateKeyring("k1"))
	if err != nil {
		t.Fatal(err)
	}
	return keyring
}

func TestIssueOpen(t *testing.T) {
	keyring := newKeyring(t)
	now := time.Unix(1_800_000_000, 0)
	token := Issue(keyring, "parent", Claims{Subject: "demo-parent-01", Name: "李四", SessionID: "s1", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})

	claims, err := Open(keyring, "parent", token, now)
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != "demo-parent-01" || claims.Name != "李四" || claims.SessionID != "s1" {
		t.Fatalf("claims = %+v", claims)
	}
}

func TestTokenHidesClaims(t *testing.T) {
	keyring := newKeyring(t)
	token := Issue(keyring, "parent", Claims{Subject: "demo-parent-01", Name: "李四", ExpiresAt: 2_000_000_000})
	for _, secret := range []string{"demo-parent", "李四"} {
		if strings.Contains(token, secret) {
			t.Errorf("token %q contains %q", token, secret)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	keyring := newKeyring(t)
	now := time.Unix(1_800_000_000, 0)
	valid := Issue(keyring, "parent", Claims{Subject: "p", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})
	cases := map[string]struct {
		token   string
		at      time.Time
		purpose string
		sealer  Sealer
	}{
		"expired":       {valid, now.Add(2 * time.Hour), "parent", keyring},
		"other keyring": {valid, now, "parent", newKeyring(t)},
		"other purpose": {valid, now, "staff", keyring},
		"tampered":      {valid[:len(valid)-2] + "AA", now, "parent", keyring},
		"line break":    {valid[:10] + "\n" + valid[10:], now, "parent", keyring},
		"no version":    {valid[3:], now, "parent", keyring},
		"empty":         {"", now, "parent", keyring},
		"only version":  {"v3.", now, "parent", keyring},
		"empty subject": {Issue(keyring, "parent", Claims{ExpiresAt: now.Add(time.Hour).Unix()}), now, "parent", keyring},
	}
	for name, c := range cases {
		if _, err := Open(c.sealer, c.purpose, c.token, c.at); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	keyring := newKeyring(f)
	f.Add(Issue(keyring, "parent", Claims{Subject: "p", Name: "李四", IssuedAt: 1, ExpiresAt: 2_000_000_000}))
	f.Add("v3.")
	f.Add("v3.AAAA")
	f.Fuzz(func(t *testing.T, token string) {
		// Any token opens or fails with ErrInvalid, never a panic.
		if _, err := Open(keyring, "parent", token, time.Unix(1_800_000_000, 0)); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Open(%q) = %v", token, err)
		}
	})
}

func TestIsTokenTextAlphabet(t *testing.T) {
	if !isTokenText("ABCXYZabcxyz0189-_") {
		t.Error("base64url characters rejected")
	}
	for _, text := range []string{"a+b", "a/b", "a=b", "a\nb", "a b", "a.b", "é"} {
		if isTokenText(text) {
			t.Errorf("isTokenText(%q) = true, want false", text)
		}
	}
}

// BenchmarkIsTokenText measures the check on the encoded part of a typical
// parent token, 238 characters long.
func BenchmarkIsTokenText(b *testing.B) {
	text := strings.Repeat("Ab9-_", 48)[:238]
	for b.Loop() {
		if !isTokenText(text) {
			b.Fatal("rejected a base64url text")
		}
	}
}
