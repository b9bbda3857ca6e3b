package session

import (
	"errors"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	token := Sign(key, Claims{Subject: "demo-parent-01", Name: "李四", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})

	claims, err := Verify(key, token, now)
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != "demo-parent-01" || claims.Name != "李四" {
		t.Fatalf("claims = %+v", claims)
	}
}

func TestVerifyRejects(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	valid := Sign(key, Claims{Subject: "p", IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()})
	cases := map[string]struct {
		token string
		at    time.Time
		key   []byte
	}{
		"expired":       {valid, now.Add(2 * time.Hour), key},
		"other key":     {valid, now, []byte("ffffffffffffffffffffffffffffffff")},
		"tampered":      {valid[:len(valid)-2] + "AA", now, key},
		"no version":    {valid[3:], now, key},
		"empty":         {"", now, key},
		"only version":  {"v1.", now, key},
		"empty subject": {Sign(key, Claims{ExpiresAt: now.Add(time.Hour).Unix()}), now, key},
	}
	for name, c := range cases {
		if _, err := Verify(c.key, c.token, c.at); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	f.Add(Sign(key, Claims{Subject: "p", Name: "李四", IssuedAt: 1, ExpiresAt: 2_000_000_000}))
	f.Add("v2..")
	f.Add("v2.AA.AA")
	f.Fuzz(func(t *testing.T, token string) {
		// Any token verifies or fails with ErrInvalid; a forged payload
		// without the key never verifies.
		claims, err := Verify(key, token, time.Unix(1_800_000_000, 0))
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Verify(%q) = %v", token, err)
		}
		if err == nil && Sign(key, claims) != token {
			t.Fatalf("token %q verified but signs differently as %q", token, Sign(key, claims))
		}
	})
}
