package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/edge/server"
	"github.com/sh-preschool/preschool/shared/config"
)

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := server.LoadConfig(config.FromMap(map[string]string{"CRYPTO_KEYRING_FILE": "/etc/keyring.json"}))
	if err != nil {
		t.Fatalf("LoadConfig returned %v", err)
	}
	if cfg.Listen != "127.0.0.1:8080" || cfg.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("Listen %q, PublicURL %q, want 127.0.0.1:8080 for both", cfg.Listen, cfg.PublicURL)
	}
	if cfg.RedisPrefix != "ps:" || cfg.LimitsFile != "deploy/limits.toml" {
		t.Errorf("RedisPrefix %q, LimitsFile %q", cfg.RedisPrefix, cfg.LimitsFile)
	}
	if cfg.CertificatesTimeout != 800*time.Millisecond || cfg.BreakerOpenFor != 15*time.Second {
		t.Errorf("CertificatesTimeout %s, BreakerOpenFor %s, want 800ms and 15s", cfg.CertificatesTimeout, cfg.BreakerOpenFor)
	}
	if cfg.TrustForwardedFor {
		t.Error("TrustForwardedFor is on by default")
	}
}

func TestLoadConfigPublicURL(t *testing.T) {
	for listen, want := range map[string]string{
		"0.0.0.0:9000": "http://127.0.0.1:9000",
		":9000":        "http://127.0.0.1:9000",
		"[::]:9000":    "http://127.0.0.1:9000",
		"[::1]:9000":   "http://[::1]:9000",
	} {
		cfg, err := server.LoadConfig(config.FromMap(map[string]string{"CRYPTO_KEYRING_FILE": "k", "EDGE_LISTEN": listen}))
		if err != nil {
			t.Fatalf("LoadConfig returned %v", err)
		}
		if cfg.PublicURL != want {
			t.Errorf("EDGE_LISTEN=%s: PublicURL = %q, want %q", listen, cfg.PublicURL, want)
		}
	}
}

func TestLoadConfigInvalid(t *testing.T) {
	_, err := server.LoadConfig(config.FromMap(map[string]string{
		"EDGE_REDIS_TIMEOUT": "1ms",
		"EDGE_CONCURRENCY":   "many",
		"EDGE_SECURE_COOKIE": "yes please",
	}))
	if err == nil {
		t.Fatal("LoadConfig accepted invalid values")
	}
	for _, want := range []string{"CRYPTO_KEYRING_FILE is required", "EDGE_REDIS_TIMEOUT", "EDGE_CONCURRENCY", "EDGE_SECURE_COOKIE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestStartInvalidFiles(t *testing.T) {
	directory := t.TempDir()
	tests := []struct {
		name string
		cfg  server.Config
		want string
	}{
		{"missing keyring", server.Config{KeyringFile: filepath.Join(directory, "missing.json")}, "CRYPTO_KEYRING_FILE"},
		{"keyring that is not JSON", server.Config{KeyringFile: "config_test.go"}, "CRYPTO_KEYRING_FILE"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			edge, err := server.Start(context.Background(), test.cfg)
			if err == nil {
				edge.Close()
				t.Fatal("Start returned no error")
			}
			if !strings.Contains(err.Error(), test.want) {
				t.Errorf("error %q does not mention %s", err, test.want)
			}
		})
	}
}

func TestStartInvalidLimits(t *testing.T) {
	f := edgetest.Shared(t)
	directory := t.TempDir()
	keyring := filepath.Join(directory, "keyring.json")
	if err := os.WriteFile(keyring, edgetest.JSON(t, f.KeyringFile), 0o600); err != nil {
		t.Fatal(err)
	}
	limits := filepath.Join(directory, "limits.toml")
	if err := os.WriteFile(limits, []byte(limitsWith("[routes]\ndefault = { rate = 0, burst = 1 }\n")), 0o600); err != nil {
		t.Fatal(err)
	}

	edge, err := server.Start(context.Background(), server.Config{KeyringFile: keyring, LimitsFile: limits})

	if err == nil {
		edge.Close()
		t.Fatal("Start returned no error")
	}
	if !strings.Contains(err.Error(), "EDGE_LIMITS_FILE") || !strings.Contains(err.Error(), "routes.default.rate is 0") {
		t.Errorf("error %q does not name the limits file and its problem", err)
	}
}

func TestStartUnknownRoute(t *testing.T) {
	f := edgetest.Shared(t)
	directory := t.TempDir()
	keyring := filepath.Join(directory, "keyring.json")
	if err := os.WriteFile(keyring, edgetest.JSON(t, f.KeyringFile), 0o600); err != nil {
		t.Fatal(err)
	}
	limits := filepath.Join(directory, "limits.toml")
	misspelt := limitsWith("[routes]\ndefault = { rate = 1, burst = 1 }\n\"POST /api/v1/registrationz\" = { rate = 1, burst = 1 }\n")
	if err := os.WriteFile(limits, []byte(misspelt), 0o600); err != nil {
		t.Fatal(err)
	}

	edge, err := server.Start(context.Background(), server.Config{KeyringFile: keyring, LimitsFile: limits})

	if err == nil {
		edge.Close()
		t.Fatal("Start returned no error")
	}
	if !strings.Contains(err.Error(), "EDGE_LIMITS_FILE") {
		t.Errorf("error %q does not name EDGE_LIMITS_FILE", err)
	}
	if !strings.Contains(err.Error(), `unknown route "POST /api/v1/registrationz"`) {
		t.Errorf("error %q does not name the unknown route", err)
	}
	if !strings.Contains(err.Error(), `"POST /api/v1/registrations"`) {
		t.Errorf("error %q does not list the edge's routes", err)
	}
}
