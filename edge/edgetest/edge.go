package edgetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/publish"
	"github.com/sh-preschool/preschool/edge/server"
	"github.com/sh-preschool/preschool/edge/signin"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/enrolment"
	"github.com/sh-preschool/preschool/shared/testenv"
	"github.com/sh-preschool/preschool/simulators"
)

// GenerousLimits are throttling limits that no test reaches by accident.
const GenerousLimits = `
[routes]
default = { rate = 100000, burst = 100000 }

[entries]
default = { rate = 100000, burst = 100000 }

[clients]
rate = 100000
burst = 100000
max_tracked = 10000
idle_ttl = "10m"

[shedding]
max_backlog = 1000000
retry_after = "5s"
`

// EdgeOptions configure StartEdge. The zero value starts an edge with
// GenerousLimits that serves the fixture's snapshot.
type EdgeOptions struct {
	// TLSCertFile and TLSKeyFile make the edge serve TLS 1.3 (URL stays
	// http, so the test dials the address itself).
	TLSCertFile, TLSKeyFile string
	// Limits is the content of the limits file; empty means GenerousLimits.
	Limits string
	// NoSnapshot starts the edge before any snapshot is published.
	NoSnapshot bool
	// BreakerOpenFor is how long the certificate breaker stays open; zero
	// means a minute, longer than any test.
	BreakerOpenFor time.Duration
	// Simulators configures the simulators; zero fields mean no faults.
	Simulators simulators.Config
	// RedisAddress is the Redis address the edge connects to, such as a
	// Proxy in front of the test Redis. Empty means the test Redis itself.
	// The fixture publishes through the test Redis in either case.
	RedisAddress string
	// TrustForwardedFor makes the edge take a client's address from the
	// last entry of X-Forwarded-For, as behind a load balancer.
	TrustForwardedFor bool
	// CloudCrypto makes the edge seal with data keys of the cryptography
	// service simulator (CRYPTO_PROVIDER=cloud).
	CloudCrypto bool
}

// Edge is an edge running in-process for one test, with its own Redis key
// prefix, limits file, upload directory and simulators.
type Edge struct {
	*server.Edge
	URL string
	// OperationsURL is the operators' listener, with /metrics.
	OperationsURL string
	Redis         *testenv.Redis
	Keys          enrolment.Keys
	Simulators    *simulators.Running
	LimitsFile    string
	UploadDir     string
	Fixture       *Fixture

	client *http.Client
}

// StartEdge starts an edge on 127.0.0.1 and stops it when the test ends.
func (f *Fixture) StartEdge(t *testing.T, options EdgeOptions) *Edge {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	directory := t.TempDir()
	keyringFile := filepath.Join(directory, "keyring.json")
	if err := os.WriteFile(keyringFile, JSON(t, f.KeyringFile), 0o600); err != nil {
		t.Fatalf("write keyring: %v", err)
	}
	limits := options.Limits
	if limits == "" {
		limits = GenerousLimits
	}
	limitsFile := filepath.Join(directory, "limits.toml")
	if err := os.WriteFile(limitsFile, []byte(limits), 0o600); err != nil {
		t.Fatalf("write limits: %v", err)
	}

	simulatorConfig := options.Simulators
	if simulatorConfig.Seed == 0 {
		simulatorConfig.Seed = 1
	}
	// The simulators stop when their context ends, so they get one that
	// lasts until the cleanup closes them.
	running, err := simulators.Start(context.Background(), simulatorConfig)
	if err != nil {
		t.Fatalf("start simulators: %v", err)
	}
	t.Cleanup(func() {
		if err := running.Close(); err != nil {
			t.Logf("stop simulators: %v", err)
		}
	})

	redis := testenv.NewRedis(t)
	e := &Edge{
		Redis:      redis,
		Keys:       Keys(redis.Prefix),
		Simulators: running,
		LimitsFile: limitsFile,
		UploadDir:  filepath.Join(directory, "uploads"),
		Fixture:    f,
		client:     &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}},
	}
	if !options.NoSnapshot {
		e.Publish(t)
	}

	breakerOpenFor := options.BreakerOpenFor
	if breakerOpenFor == 0 {
		breakerOpenFor = time.Minute
	}
	redisAddress := options.RedisAddress
	if redisAddress == "" {
		redisAddress = redis.Address
	}
	config := server.Config{
		Listen:               "127.0.0.1:0",
		OperationsListen:     "127.0.0.1:0",
		PublicURL:            "http://127.0.0.1",
		RedisAddress:         redisAddress,
		RedisPrefix:          redis.Prefix,
		RedisTimeout:         5 * time.Second,
		KeyringFile:          keyringFile,
		LimitsFile:           limitsFile,
		IdentityURL:          running.IdentityURL,
		IdentityClientID:     "preschool-edge",
		IdentityClientSecret: "dev-secret",
		CertificatesURL:      running.CertificatesURL,
		CertificatesTimeout:  2 * time.Second,
		BreakerOpenFor:       breakerOpenFor,
		// A window far longer than a test, so a slow machine cannot reset
		// the breaker's counts half-way through a test's calls.
		BreakerWindow:     time.Hour,
		UploadDir:         e.UploadDir,
		SessionTTL:        time.Hour,
		Concurrency:       1000,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		ReceiptTTL:        24 * time.Hour,
		BacklogInterval:   20 * time.Millisecond,
		TrustForwardedFor: options.TrustForwardedFor,
		TLSCertFile:       options.TLSCertFile,
		TLSKeyFile:        options.TLSKeyFile,
		// The defaults of EDGE_FEEDBACK_IDLE_TIMEOUT and
		// EDGE_FEEDBACK_STREAM_MAX_LENGTH.
		FeedbackIdleTimeout:     5 * time.Minute,
		FeedbackStreamMaxLength: 100_000,
	}
	if options.CloudCrypto {
		apiKey := simulatorConfig.CryptoAPIKey
		if apiKey == "" {
			apiKey = simulators.DefaultCryptoAPIKey
		}
		config.Crypto = crypto.ProviderConfig{
			Kind: crypto.ProviderCloud, ServiceURL: running.CryptoURL, ServiceAPIKey: apiKey,
			SealingKeyID: simulators.CryptoSealingKeyID, ServiceTimeout: 5 * time.Second,
		}
		// In cloud mode the index key comes from the service, wrapped: the
		// edge computes the fixture keyring's indexes all the same.
		service, err := crypto.NewProvider(config.Crypto)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := crypto.WrapIndexKey(ctx, keyringFile, service); err != nil {
			t.Fatalf("wrap the index key: %v", err)
		}
	}
	edge, err := server.Start(ctx, config)
	if err != nil {
		t.Fatalf("start edge: %v", err)
	}
	e.Edge = edge
	e.URL = "http://" + edge.Addr()
	e.OperationsURL = "http://" + edge.OperationsAddr()
	t.Cleanup(func() {
		e.client.CloseIdleConnections()
		if err := edge.Close(); err != nil {
			t.Logf("stop edge: %v", err)
		}
	})
	return e
}

// Publish publishes the fixture's seeded data as a new snapshot under the
// edge's key prefix, as the back office does.
func (e *Edge) Publish(t testing.TB) {
	t.Helper()
	if e.Fixture.DB == nil {
		t.Fatal("Publish needs the seeded database, which a fuzzing worker does not have")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	publisher := &publish.Publisher{DB: e.Fixture.DB, Redis: e.Redis.Client, Keys: e.Keys, Now: time.Now}
	if _, err := publisher.Publish(ctx); err != nil {
		t.Fatalf("publish snapshot: %v", err)
	}
}

// WriteLimits replaces the edge's limits file by renaming a new file over
// it, as editors do, so that the edge never reads it half written.
func (e *Edge) WriteLimits(t testing.TB, limits string) {
	t.Helper()
	temporary := e.LimitsFile + ".new"
	if err := os.WriteFile(temporary, []byte(limits), 0o600); err != nil {
		t.Fatalf("write limits: %v", err)
	}
	if err := os.Rename(temporary, e.LimitsFile); err != nil {
		t.Fatalf("replace limits: %v", err)
	}
}

// SessionToken returns a ps_session cookie value that signs in subject.
func (e *Edge) SessionToken(subject string) string {
	return signin.IssueToken(e.Fixture.Keyring, subject, "测试家长", time.Now(), time.Hour)
}

// Request is one HTTP request to the edge.
type Request struct {
	Method string
	Path   string
	// Subject signs the request in as this parent when it is not empty.
	Subject string
	// Body is sent with ContentType, which defaults to application/json.
	Body        []byte
	ContentType string
	Header      map[string]string
	// Operations sends the request to the operators' listener.
	Operations bool
}

// Response is the edge's HTTP response, read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends the request and reads the response.
func (e *Edge) Do(t testing.TB, request Request) *Response {
	t.Helper()
	var body io.Reader
	if request.Body != nil {
		body = bytes.NewReader(request.Body)
	}
	base := e.URL
	if request.Operations {
		base = e.OperationsURL
	}
	httpRequest, err := http.NewRequest(request.Method, base+request.Path, body)
	if err != nil {
		t.Fatalf("new request %s %s: %v", request.Method, request.Path, err)
	}

	if request.Body != nil {
		contentType := request.ContentType
		if contentType == "" {
			contentType = "application/json"
		}
		httpRequest.Header.Set("Content-Type", contentType)
	}
	if request.Subject != "" {
		httpRequest.AddCookie(&http.Cookie{Name: signin.SessionCookie, Value: e.SessionToken(request.Subject)})
	}
	for name, value := range request.Header {
		httpRequest.Header.Set(name, value)
	}

	response, err := e.client.Do(httpRequest)
	if err != nil {
		t.Fatalf("%s %s: %v", request.Method, request.Path, err)
	}
	defer response.Body.Close()
	data, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatalf("read response of %s %s: %v", request.Method, request.Path, err)
	}
	return &Response{Status: response.StatusCode, Header: response.Header, Body: data}
}

// Post sends a JSON body as subject.
func (e *Edge) Post(t testing.TB, path, subject string, body []byte) *Response {
	t.Helper()
	return e.Do(t, Request{Method: http.MethodPost, Path: path, Subject: subject, Body: body})
}

// GetOperations sends a GET request to the operators' listener (metrics
// and probes).
func (e *Edge) GetOperations(t testing.TB, path string) *Response {
	t.Helper()
	return e.Do(t, Request{Method: http.MethodGet, Path: path, Operations: true})
}

// Get sends a GET request as subject, or signed out when subject is empty.
func (e *Edge) Get(t testing.TB, path, subject string) *Response {
	t.Helper()
	return e.Do(t, Request{Method: http.MethodGet, Path: path, Subject: subject})
}

// Error decodes the response's JSON error body, failing the test when the
// body is not one.
func (r *Response) Error(t testing.TB) *apierror.Error {
	t.Helper()
	var body struct {
		Error *apierror.Error `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Error == nil {
		t.Fatalf("status %d body %q is not a JSON error: %v", r.Status, r.Body, err)
	}
	body.Error.Status = r.Status
	return body.Error
}

// Decode decodes the response's JSON body into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("status %d body %q: %v", r.Status, r.Body, err)
	}
}

// Quiet raises the default logger's level to error for the rest of the
// test binary, so that the edge's and simulators' expected warnings do not
// bury test output.
func Quiet() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}

// StreamLength returns the number of entries in the submissions stream of
// keys.
func StreamLength(t testing.TB, redis *testenv.Redis, keys enrolment.Keys) int64 {
	t.Helper()
	client := redis.Client
	length, err := client.Do(context.Background(), client.B().Xlen().Key(keys.Stream()).Build()).AsInt64()
	if err != nil {
		t.Fatalf("XLEN: %v", err)
	}
	return length
}
