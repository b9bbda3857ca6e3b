package config

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestReaderDefaultsAndValues(t *testing.T) {
	r := FromMap(map[string]string{"A": "x", "N": "7", "D": "250ms", "B": "true"})
	if got := r.String("A", "y"); got != "x" {
		t.Errorf("String = %q, want x", got)
	}
	if got := r.String("MISSING", "y"); got != "y" {
		t.Errorf("String default = %q, want y", got)
	}
	if got := r.Int("N", 1, 0, 10); got != 7 {
		t.Errorf("Int = %d, want 7", got)
	}
	if got := r.Duration("D", time.Second, time.Millisecond); got != 250*time.Millisecond {
		t.Errorf("Duration = %s, want 250ms", got)
	}
	if got := r.Bool("B", false); !got {
		t.Error("Bool = false, want true")
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err = %v, want nil", err)
	}
}

func TestReaderCollectsProblems(t *testing.T) {
	r := FromMap(map[string]string{"N": "99", "D": "soon", "B": "maybe"})
	r.Int("N", 1, 0, 10)
	r.Duration("D", time.Second, 0)
	r.Bool("B", false)
	r.Require("KEY", "")
	err := r.Err()
	if err == nil {
		t.Fatal("Err = nil, want four problems")
	}
	for _, name := range []string{"N=", "D=", "B=", "KEY is required"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestAttributesMasksSecrets(t *testing.T) {
	type sample struct {
		ListenAddress string
		Password      string `secret:"true"`
		Empty         string `secret:"true"`
		Timeout       time.Duration
	}
	attributes := Attributes(sample{ListenAddress: ":80", Password: "hunter2", Timeout: time.Second})
	got := map[string]string{}
	for _, attribute := range attributes {
		a := attribute.(slog.Attr)
		got[a.Key] = a.Value.String()
	}
	want := map[string]string{"listen_address": ":80", "password": "(set)", "empty": "(empty)", "timeout": "1s"}
	for key, value := range want {
		if got[key] != value {
			t.Errorf("%s = %q, want %q", key, got[key], value)
		}
	}
}

func TestAttributesMasksNestedSecrets(t *testing.T) {
	type provider struct {
		Kind   string
		APIKey string `secret:"true"`
	}
	type sample struct {
		Listen string
		Crypto provider
	}
	attributes := Attributes(sample{Listen: ":80", Crypto: provider{Kind: "cloud", APIKey: "s3cr3t-key"}})
	var text strings.Builder
	logger := slog.New(slog.NewJSONHandler(&text, nil))
	logger.Info("configuration", attributes...)
	if strings.Contains(text.String(), "s3cr3t-key") {
		t.Errorf("log line contains the nested secret: %s", text.String())
	}
	if !strings.Contains(text.String(), `"crypto":{"kind":"cloud","apikey":"(set)"}`) {
		t.Errorf("log line lacks the nested group: %s", text.String())
	}
}
