package fault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// okHandler is the service behind the injector in these tests.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
})

func newInjector(t *testing.T, cfg Config, options Options) *Injector {
	t.Helper()
	injector, err := New(cfg, options)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return injector
}

func startServer(t *testing.T, injector *Injector) *httptest.Server {
	t.Helper()
	server := httptest.NewServer(injector.Handler(okHandler))
	t.Cleanup(server.Close)
	return server
}

func get(t *testing.T, client *http.Client, url string) (int, http.Header, string) {
	t.Helper()
	response, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatalf("read body of GET %s: %v", url, err)
	}
	return response.StatusCode, response.Header, string(body)
}

func TestFailureRateExtremes(t *testing.T) {
	tests := []struct {
		name       string
		rate       float64
		wantStatus int
	}{
		{name: "rate 1 fails every call", rate: 1, wantStatus: http.StatusServiceUnavailable},
		{name: "rate 0 fails no call", rate: 0, wantStatus: http.StatusOK},
	}
	const calls = 40

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			injector := newInjector(t, Config{FailureRate: tt.rate}, Options{Seed: 7})
			server := startServer(t, injector)

			for i := range calls {
				status, header, body := get(t, server.Client(), server.URL+"/v1/thing")
				if status != tt.wantStatus {
					t.Fatalf("call %d: status = %d, want %d (body %s)", i, status, tt.wantStatus, body)
				}
				if tt.wantStatus == http.StatusServiceUnavailable {
					if got := header.Get("X-Fault-Injected"); got != ModeError {
						t.Errorf("call %d: X-Fault-Injected = %q, want %q", i, got, ModeError)
					}
					var errorBody struct{ Error, Message string }
					if err := json.Unmarshal([]byte(body), &errorBody); err != nil {
						t.Fatalf("call %d: 503 body is not JSON: %v: %s", i, err, body)
					}
					if errorBody.Error != "service_unavailable" || errorBody.Message == "" {
						t.Errorf("call %d: 503 body = %+v, want error service_unavailable with a message", i, errorBody)
					}
				}
			}

			stats := injector.Stats()
			if stats.Requests != calls {
				t.Errorf("Stats().Requests = %d, want %d", stats.Requests, calls)
			}
			wantFailures := int64(0)
			if tt.rate == 1 {
				wantFailures = calls
			}
			if stats.Failures != wantFailures {
				t.Errorf("Stats().Failures = %d, want %d", stats.Failures, wantFailures)
			}
			if got := stats.Paths["/v1/thing"]; got.Requests != calls || got.Failures != wantFailures {
				t.Errorf("Stats().Paths[/v1/thing] = %+v, want %d requests and %d failures", got, calls, wantFailures)
			}
		})
	}
}

func TestLatencyApplied(t *testing.T) {
	tests := []struct {
		name   string
		config Config
	}{
		{name: "latency only", config: Config{Latency: 60 * time.Millisecond}},
		{name: "latency with jitter", config: Config{Latency: 40 * time.Millisecond, Jitter: 30 * time.Millisecond}},
		{name: "latency before failure", config: Config{Latency: 50 * time.Millisecond, FailureRate: 1}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := startServer(t, newInjector(t, tt.config, Options{Seed: 1}))

			for range 3 {
				started := time.Now()
				get(t, server.Client(), server.URL+"/slow")
				if elapsed := time.Since(started); elapsed < tt.config.Latency {
					t.Errorf("request took %s, want at least the configured latency %s", elapsed, tt.config.Latency)
				}
			}
		})
	}
}

// failureSequence sends calls sequential requests and returns which failed.
func failureSequence(t *testing.T, seed uint64, rate float64, calls int) []bool {
	t.Helper()
	server := startServer(t, newInjector(t, Config{FailureRate: rate}, Options{Seed: seed}))

	sequence := make([]bool, calls)
	for i := range sequence {
		status, _, _ := get(t, server.Client(), server.URL+"/")
		sequence[i] = status == http.StatusServiceUnavailable
	}
	return sequence
}

func countTrue(values []bool) int {
	count := 0
	for _, value := range values {
		if value {
			count++
		}
	}
	return count
}

func TestSeededFailureSequenceRepeats(t *testing.T) {
	const calls = 60
	first := failureSequence(t, 42, 0.3, calls)
	second := failureSequence(t, 42, 0.3, calls)

	if fmt.Sprint(first) != fmt.Sprint(second) {
		t.Errorf("seed 42 gave two different sequences:\n%v\n%v", first, second)
	}
	// 60 draws at p = 0.3 give 18 failures on average; outside [5, 35] the
	// rate is not being applied (the chance is far below one in a million).
	if failures := countTrue(first); failures < 5 || failures > 35 {
		t.Errorf("%d of %d calls failed at rate 0.3, want between 5 and 35", failures, calls)
	}

	other := failureSequence(t, 43, 0.3, calls)
	if fmt.Sprint(first) == fmt.Sprint(other) {
		t.Errorf("seeds 42 and 43 gave the same sequence %v", first)
	}
}

func TestJitterDoesNotShiftFailureSequence(t *testing.T) {
	const calls = 30
	plain := newInjector(t, Config{FailureRate: 0.5}, Options{Seed: 9})
	jittered := newInjector(t, Config{FailureRate: 0.5, Jitter: time.Microsecond}, Options{Seed: 9})

	for i := range calls {
		plainFail, _ := plain.decide("/", plain.Config())
		jitteredFail, _ := jittered.decide("/", jittered.Config())
		if plainFail != jitteredFail {
			t.Fatalf("decision %d differs with jitter: %v without, %v with", i, plainFail, jitteredFail)
		}
	}
}

func postControl(t *testing.T, client *http.Client, url, body string) (int, string) {
	t.Helper()
	response, err := client.Post(url+"/_control", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST /_control: %v", err)
	}
	defer response.Body.Close()
	responseBody, _ := io.ReadAll(response.Body)
	return response.StatusCode, string(responseBody)
}

func TestControlChangesConfigAtRunTime(t *testing.T) {
	injector := newInjector(t, Config{Latency: time.Millisecond}, Options{Seed: 3})
	server := startServer(t, injector)

	if status, _, body := get(t, server.Client(), server.URL+"/x"); status != http.StatusOK {
		t.Fatalf("before /_control: status = %d (body %s), want 200", status, body)
	}

	status, body := postControl(t, server.Client(), server.URL, `{"failureRate":1,"failureMode":"error"}`)
	if status != http.StatusOK {
		t.Fatalf("POST /_control status = %d (body %s), want 200", status, body)
	}
	var returned Config
	if err := json.Unmarshal([]byte(body), &returned); err != nil {
		t.Fatalf("POST /_control body is not a Config: %v: %s", err, body)
	}
	want := Config{Latency: time.Millisecond, FailureRate: 1, FailureMode: ModeError}
	if returned != want {
		t.Errorf("POST /_control returned %+v, want %+v (latency kept from before)", returned, want)
	}

	if status, _, body := get(t, server.Client(), server.URL+"/x"); status != http.StatusServiceUnavailable {
		t.Errorf("after /_control: status = %d (body %s), want 503", status, body)
	}

	status, _, body = get(t, server.Client(), server.URL+"/_control")
	if status != http.StatusOK || !strings.Contains(body, `"failureRate":1`) || !strings.Contains(body, `"latency":"1ms"`) {
		t.Errorf("GET /_control = %d %s, want 200 with failureRate 1 and latency 1ms", status, body)
	}
}

func TestControlRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{name: "rate above 1", body: `{"failureRate":1.5}`},
		{name: "negative rate", body: `{"failureRate":-0.1}`},
		{name: "unknown mode", body: `{"failureMode":"explode"}`},
		{name: "latency without unit", body: `{"latency":"20"}`},
		{name: "latency as number", body: `{"latency":20}`},
		{name: "negative jitter", body: `{"jitter":"-5ms"}`},
		{name: "unknown field", body: `{"failure_rate":0.5}`},
		{name: "not JSON", body: `failureRate=1`},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := Config{Latency: 2 * time.Millisecond, FailureRate: 0.1}
			injector := newInjector(t, before, Options{Seed: 1})
			server := startServer(t, injector)

			status, body := postControl(t, server.Client(), server.URL, tt.body)
			if status != http.StatusBadRequest {
				t.Errorf("status = %d (body %s), want 400", status, body)
			}
			if got := injector.Config(); got != before.normalized() {
				t.Errorf("config after rejected update = %+v, want unchanged %+v", got, before.normalized())
			}
		})
	}
}

func TestControlRejectsNonLoopbackPeer(t *testing.T) {
	injector := newInjector(t, Config{}, Options{Seed: 1})
	handler := injector.Handler(okHandler)

	tests := []struct {
		remoteAddr string
		wantStatus int
	}{
		{remoteAddr: "203.0.113.7:4567", wantStatus: http.StatusForbidden},
		{remoteAddr: "[2001:db8::1]:4567", wantStatus: http.StatusForbidden},
		{remoteAddr: "192.168.1.10:80", wantStatus: http.StatusForbidden},
		{remoteAddr: "pipe", wantStatus: http.StatusForbidden},
		{remoteAddr: "127.0.0.1:4567", wantStatus: http.StatusOK},
		{remoteAddr: "[::1]:4567", wantStatus: http.StatusOK},
	}

	for _, tt := range tests {
		t.Run(tt.remoteAddr, func(t *testing.T) {
			if err := injector.SetConfig(Config{}); err != nil {
				t.Fatalf("reset config: %v", err)
			}
			request := httptest.NewRequest(http.MethodPost, "/_control", strings.NewReader(`{"failureRate":1}`))
			request.RemoteAddr = tt.remoteAddr
			request.Header.Set("X-Forwarded-For", "127.0.0.1")
			recorder := httptest.NewRecorder()

			handler.ServeHTTP(recorder, request)

			if recorder.Code != tt.wantStatus {
				t.Errorf("status = %d (body %s), want %d", recorder.Code, recorder.Body, tt.wantStatus)
			}
			wantRate := 0.0
			if tt.wantStatus == http.StatusOK {
				wantRate = 1
			}
			if got := injector.Config().FailureRate; got != wantRate {
				t.Errorf("FailureRate after request = %v, want %v", got, wantRate)
			}
		})
	}
}

func TestControlEndpointsBypassFaults(t *testing.T) {
	injector := newInjector(t, Config{FailureRate: 1, Latency: time.Second}, Options{Seed: 1})
	handler := injector.Handler(okHandler)

	for _, path := range []string{"/healthz", "/_stats", "/_control"} {
		t.Run(path, func(t *testing.T) {
			recorder := httptest.NewRecorder()
			started := time.Now()
			handler.ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, path, nil))

			if recorder.Code != http.StatusOK {
				t.Errorf("GET %s status = %d, want 200", path, recorder.Code)
			}
			if elapsed := time.Since(started); elapsed >= time.Second {
				t.Errorf("GET %s took %s, want no injected latency", path, elapsed)
			}
		})
	}
	if requests := injector.Stats().Requests; requests != 0 {
		t.Errorf("Stats().Requests = %d after control endpoints only, want 0", requests)
	}
}

func TestHangModeRespondsAfterTimeout(t *testing.T) {
	injector := newInjector(t, Config{FailureRate: 1, FailureMode: ModeHang}, Options{Seed: 1, HangTimeout: 80 * time.Millisecond})
	server := startServer(t, injector)

	started := time.Now()
	status, header, _ := get(t, server.Client(), server.URL+"/")
	if elapsed := time.Since(started); elapsed < 80*time.Millisecond {
		t.Errorf("hung request returned after %s, want at least the 80ms hang timeout", elapsed)
	}
	if status != http.StatusServiceUnavailable {
		t.Errorf("status after hang = %d, want 503", status)
	}
	if got := header.Get("X-Fault-Injected"); got != ModeHang {
		t.Errorf("X-Fault-Injected = %q, want %q", got, ModeHang)
	}
}

func TestHangModeEndsWhenClientGivesUp(t *testing.T) {
	injector := newInjector(t, Config{FailureRate: 1, FailureMode: ModeHang}, Options{Seed: 1})
	server := startServer(t, injector)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, server.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	response, err := server.Client().Do(request)
	if err == nil {
		response.Body.Close()
		t.Fatalf("hung request returned status %d, want the client's deadline to end it", response.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(started); elapsed > 5*time.Second {
		t.Errorf("client waited %s, want about 100ms", elapsed)
	}
}

func TestResetModeClosesConnection(t *testing.T) {
	injector := newInjector(t, Config{FailureRate: 1, FailureMode: ModeReset}, Options{Seed: 1})
	server := startServer(t, injector)

	response, err := server.Client().Get(server.URL + "/")
	if err == nil {
		response.Body.Close()
		t.Fatalf("reset request returned status %d, want a connection error", response.StatusCode)
	}
	if injector.Stats().Failures < 1 {
		t.Errorf("Stats().Failures = %d, want at least 1", injector.Stats().Failures)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		config  Config
		wantErr bool
	}{
		{name: "zero value", config: Config{}},
		{name: "all modes error", config: Config{FailureRate: 1, FailureMode: ModeError}},
		{name: "hang", config: Config{FailureMode: ModeHang}},
		{name: "reset", config: Config{FailureMode: ModeReset}},
		{name: "negative latency", config: Config{Latency: -1}, wantErr: true},
		{name: "negative jitter", config: Config{Jitter: -1}, wantErr: true},
		{name: "rate NaN", config: Config{FailureRate: math.NaN()}, wantErr: true},
		{name: "rate above 1", config: Config{FailureRate: 1.01}, wantErr: true},
		{name: "unknown mode", config: Config{FailureMode: "drop"}, wantErr: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.config.Validate()
			if (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	original := Config{Latency: 20 * time.Millisecond, Jitter: 1500 * time.Microsecond, FailureRate: 0.05, FailureMode: ModeReset}
	encoded, err := json.Marshal(original)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"latency":"20ms","jitter":"1.5ms","failureRate":0.05,"failureMode":"reset"}`
	if string(encoded) != want {
		t.Errorf("Marshal = %s, want %s", encoded, want)
	}

	var decoded Config
	if err := json.Unmarshal(encoded, &decoded); err != nil {
		t.Fatalf("Unmarshal(%s): %v", encoded, err)
	}
	if decoded != original {
		t.Errorf("Unmarshal = %+v, want %+v", decoded, original)
	}
}

func TestIsLoopbackPeer(t *testing.T) {
	tests := map[string]bool{
		"127.0.0.1:1":          true,
		"127.8.9.10:1":         true,
		"[::1]:1":              true,
		"[::ffff:127.0.0.1]:1": true,
		"10.0.0.1:1":           false,
		"[fe80::1]:1":          false,
		"127.0.0.1":            false,
		"":                     false,
		"localhost:80":         false,
	}
	for remoteAddr, want := range tests {
		if got := IsLoopbackPeer(remoteAddr); got != want {
			t.Errorf("IsLoopbackPeer(%q) = %v, want %v", remoteAddr, got, want)
		}
	}
}

func TestPathCountersAreBounded(t *testing.T) {
	injector := newInjector(t, Config{}, Options{Seed: 1})
	handler := injector.Handler(okHandler)

	const paths = maxTrackedPaths + 20
	for i := range paths {
		handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, fmt.Sprintf("/p/%d", i), nil))
	}

	stats := injector.Stats()
	if len(stats.Paths) != maxTrackedPaths+1 {
		t.Errorf("len(Paths) = %d, want %d tracked paths plus %q", len(stats.Paths), maxTrackedPaths, otherPath)
	}
	if got := stats.Paths[otherPath].Requests; got != 20 {
		t.Errorf("Paths[%q].Requests = %d, want 20", otherPath, got)
	}
	if stats.Requests != paths {
		t.Errorf("Requests = %d, want %d", stats.Requests, paths)
	}
}
