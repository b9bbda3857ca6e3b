package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/simulators/fault"
)

func environment(values map[string]string) func(string) string {
	return func(name string) string { return values[name] }
}

func TestLoadSettingsDefaults(t *testing.T) {
	parsed, err := loadSettings(nil, environment(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	config := parsed.config
	if config.IdentityAddr != "127.0.0.1:7101" || config.CertificatesAddr != "127.0.0.1:7102" || config.DataAddr != "127.0.0.1:7103" {
		t.Errorf("addresses = %s %s %s, want 127.0.0.1:7101 to 7103", config.IdentityAddr, config.CertificatesAddr, config.DataAddr)
	}
	if config.ClientID != "preschool-edge" || config.ClientSecret != "dev-secret" {
		t.Errorf("client = %q / %q, want preschool-edge / dev-secret", config.ClientID, config.ClientSecret)
	}
	want := fault.Config{FailureMode: fault.ModeError}
	if config.Identity != want || config.Certificates != want || config.Data != want {
		t.Errorf("fault configs = %+v %+v %+v, want %+v", config.Identity, config.Certificates, config.Data, want)
	}
	if config.Seed != 0 {
		t.Errorf("seed = %d, want 0", config.Seed)
	}
}

func TestLoadSettingsFromEnvironmentAndFlags(t *testing.T) {
	env := environment(map[string]string{
		"SIM_DATA_LATENCY":            "20ms",
		"SIM_DATA_JITTER":             "5ms",
		"SIM_DATA_FAILURE_RATE":       "0.05",
		"SIM_DATA_FAILURE_MODE":       "reset",
		"SIM_CERTIFICATES_LISTEN":     "[::1]:0",
		"SIM_IDENTITY_FAILURE_RATE":   "0.5",
		"SIM_CLIENT_ID":               "edge-dev",
		"SIM_SEED":                    "42",
		"SIM_IDENTITY_REDIRECT_HOSTS": "edge.dev.example, admin.dev.example",
	})
	parsed, err := loadSettings([]string{"-identity-failure-rate", "0.25", "-client-secret", "from-flag"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	config := parsed.config

	wantData := fault.Config{Latency: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, FailureRate: 0.05, FailureMode: fault.ModeReset}
	if config.Data != wantData {
		t.Errorf("data fault = %+v, want %+v", config.Data, wantData)
	}
	if config.Identity.FailureRate != 0.25 {
		t.Errorf("identity failure rate = %v, want 0.25 from the flag over 0.5 from the environment", config.Identity.FailureRate)
	}
	if config.CertificatesAddr != "[::1]:0" {
		t.Errorf("certificates address = %q, want [::1]:0", config.CertificatesAddr)
	}
	if config.ClientID != "edge-dev" || config.ClientSecret != "from-flag" {
		t.Errorf("client = %q / %q, want edge-dev / from-flag", config.ClientID, config.ClientSecret)
	}
	if config.Seed != 42 {
		t.Errorf("seed = %d, want 42", config.Seed)
	}
	if got := strings.Join(config.IdentityRedirectHosts, ","); got != "edge.dev.example,admin.dev.example" {
		t.Errorf("redirect hosts = %q", got)
	}
}

func TestLoadSettingsRejectsInvalidValues(t *testing.T) {
	tests := []struct {
		variable string
		value    string
		expected string
	}{
		{variable: "SIM_DATA_LATENCY", value: "20", expected: "duration such as 20ms"},
		{variable: "SIM_IDENTITY_JITTER", value: "-1ms", expected: "non-negative"},
		{variable: "SIM_CERTIFICATES_FAILURE_RATE", value: "5%", expected: "number from 0 to 1"},
		{variable: "SIM_DATA_FAILURE_RATE", value: "1.5", expected: "number from 0 to 1"},
		{variable: "SIM_DATA_FAILURE_RATE", value: "NaN", expected: "number from 0 to 1"},
		{variable: "SIM_IDENTITY_FAILURE_MODE", value: "drop", expected: `"error", "hang" or "reset"`},
		{variable: "SIM_IDENTITY_LISTEN", value: "7101", expected: "host:port"},
		{variable: "SIM_DATA_LISTEN", value: "127.0.0.1:99999", expected: "host:port"},
		{variable: "SIM_SEED", value: "-3", expected: "unsigned decimal integer"},
		{variable: "SIM_IDENTITY_REDIRECT_HOSTS", value: "https://edge.example", expected: "host names"},
		{variable: "SIM_LOG_LEVEL", value: "verbose", expected: "debug, info, warn or error"},
	}

	for _, tt := range tests {
		t.Run(tt.variable+"="+tt.value, func(t *testing.T) {
			_, err := loadSettings(nil, environment(map[string]string{tt.variable: tt.value}), io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.variable) || !strings.Contains(err.Error(), tt.expected) {
				t.Errorf("error %q should name %s and the expected form %q", err, tt.variable, tt.expected)
			}
			if code := exitCode(err, io.Discard); code != exitUsage {
				t.Errorf("exit code = %d, want %d", code, exitUsage)
			}
		})
	}
}

func TestLoadSettingsRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-no-such-flag"}, {"-data-latency", "fast"}, {"extra"}} {
		_, err := loadSettings(args, environment(nil), io.Discard)
		var usage *usageError
		if !errors.As(err, &usage) {
			t.Errorf("loadSettings(%q) error = %v, want a usage error", args, err)
		}
		if err != nil && args[0] == "-data-latency" && !strings.Contains(err.Error(), "-data-latency") {
			t.Errorf("error %q should name the flag -data-latency", err)
		}
	}
}

// lineWriter sends each line written to it to a channel.
type lineWriter struct {
	writer *io.PipeWriter
	lines  chan string
}

func newLineWriter() *lineWriter {
	reader, writer := io.Pipe()
	lines := make(chan string, 16)
	go func() {
		scanner := bufio.NewScanner(reader)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
		close(lines)
	}()
	return &lineWriter{writer: writer, lines: lines}
}

func (w *lineWriter) Write(p []byte) (int, error) { return w.writer.Write(p) }

func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stdout := newLineWriter()
	env := environment(map[string]string{
		"SIM_IDENTITY_LISTEN":     "127.0.0.1:0",
		"SIM_CERTIFICATES_LISTEN": "127.0.0.1:0",
		"SIM_DATA_LISTEN":         "127.0.0.1:0",
		"SIM_CRYPTO_LISTEN":       "127.0.0.1:0",
		"SIM_SMS_LISTEN":          "127.0.0.1:0",
		"SIM_RATING_LISTEN":       "127.0.0.1:0",
		"SIM_GATEWAY_LISTEN":      "127.0.0.1:0",
		"SIM_GATEWAY_DIR":         t.TempDir(), // not the source tree
		"SIM_DATA_FAILURE_RATE":   "1",
	})

	result := make(chan error, 1)
	go func() { result <- run(ctx, nil, env, stdout, io.Discard) }()

	urls := map[string]string{}
	for len(urls) < 3 {
		select {
		case line := <-stdout.lines:
			fields := strings.Fields(line)
			if len(fields) != 2 || !strings.HasPrefix(fields[1], "http://127.0.0.1:") {
				t.Fatalf("stdout line %q, want \"<service> <url>\"", line)
			}
			urls[fields[0]] = fields[1]
		case err := <-result:
			t.Fatalf("run returned before listening: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no listener lines within 10s")
		}
	}

	for _, service := range []string{"identity", "certificates", "data"} {
		response, err := http.Get(urls[service] + "/healthz")
		if err != nil {
			t.Fatalf("%s /healthz: %v", service, err)
		}
		response.Body.Close()
		if response.StatusCode != http.StatusOK {
			t.Errorf("%s /healthz status = %d, want 200", service, response.StatusCode)
		}
	}
	response, err := http.Post(urls["data"]+"/v1/identity/verify", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("data with SIM_DATA_FAILURE_RATE=1: status = %d, want 503", response.StatusCode)
	}

	cancel()
	select {
	case err := <-result:
		if err != nil {
			t.Errorf("run returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s of cancel")
	}
}
