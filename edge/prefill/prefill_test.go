package prefill_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/sh-preschool/preschool/edge/prefill"
)

func TestSniffContentType(t *testing.T) {
	tests := []struct {
		name string
		head []byte
		want string
	}{
		{"JPEG", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}, "image/jpeg"},
		{"PNG", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "image/png"},
		{"PDF", []byte("%PDF-1.7\n%"), "application/pdf"},
		{"PNG signature cut short", []byte("\x89PNG\r\n"), ""},
		{"GIF", []byte("GIF89a"), ""},
		{"text", []byte("hello, 世界"), ""},
		{"HTML", []byte("<!doctype html><script>"), ""},
		{"PDF not at start", []byte(" %PDF-1.7"), ""},
		{"empty", nil, ""},
	}
	for _, test := range tests {
		if got := prefill.SniffContentType(test.head); got != test.want {
			t.Errorf("%s: SniffContentType = %q, want %q", test.name, got, test.want)
		}
	}
}

// certificateAPI is a stand-in for the certificate API that responds with a
// status and body chosen by the test and counts its calls.
type certificateAPI struct {
	*httptest.Server
	calls  atomic.Int64
	status atomic.Int64
	delay  atomic.Int64 // nanoseconds
	body   string
}

func newCertificateAPI(t *testing.T, status int, body string) *certificateAPI {
	t.Helper()
	api := &certificateAPI{body: body}
	api.status.Store(int64(status))
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.calls.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/v1/certificates/query" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "unexpected request", http.StatusTeapot)
			return
		}
		io.Copy(io.Discard, r.Body)
		if delay := time.Duration(api.delay.Load()); delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(api.status.Load()))
		io.WriteString(w, api.body)
	}))
	t.Cleanup(api.Close)
	return api
}

const oneCertificate = `{"certificates": [{"type": "birth_certificate", "name": "出生医学证明", "number": "SH123", "issuedAt": "2023-10-02", "issuer": "上海市卫生健康委员会"}]}`

func query(client *prefill.Client) ([]prefill.Certificate, error) {
	return client.Query(context.Background(), "resident_id", "11010519491231002X", []string{"birth_certificate"})
}

func TestQueryAnswer(t *testing.T) {
	api := newCertificateAPI(t, http.StatusOK, oneCertificate)
	client := prefill.NewClient(api.URL+"/", time.Second, time.Minute, 0, nil)

	certificates, err := query(client)

	if err != nil {
		t.Fatalf("Query returned %v", err)
	}
	want := prefill.Certificate{Type: "birth_certificate", Name: "出生医学证明", Number: "SH123", IssuedAt: "2023-10-02", Issuer: "上海市卫生健康委员会"}
	if len(certificates) != 1 || certificates[0] != want {
		t.Errorf("certificates = %+v, want %+v", certificates, want)
	}
}

// TestQueryRejectionKeepsBreakerClosed sends requests that the API rejects
// with 4xx: the service is not failing, so the breaker stays closed.
func TestQueryRejectionKeepsBreakerClosed(t *testing.T) {
	api := newCertificateAPI(t, http.StatusBadRequest, `{"error": "invalid_request"}`)
	client := prefill.NewClient(api.URL, time.Second, time.Minute, 0, nil)

	for range 12 {
		if _, err := query(client); err == nil {
			t.Fatal("Query of a rejected request returned no error")
		}
	}

	if state := client.State(); state != gobreaker.StateClosed {
		t.Errorf("breaker state = %s after rejections, want closed", state)
	}
	if got := api.calls.Load(); got != 12 {
		t.Errorf("the API had %d calls, want 12", got)
	}
}

func TestQueryBreakerOpens(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"server errors", http.StatusServiceUnavailable, `{"error": "unavailable"}`},
		{"malformed answers", http.StatusOK, `{"certificates": [`},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			api := newCertificateAPI(t, test.status, test.body)
			var transitions []string
			client := prefill.NewClient(api.URL, time.Second, time.Minute, 0, func(name string, from, to gobreaker.State) {
				transitions = append(transitions, name+":"+from.String()+"->"+to.String())
			})

			for i := range 5 {
				if _, err := query(client); err == nil {
					t.Fatalf("call %d returned no error", i+1)
				}
			}
			if state := client.State(); state != gobreaker.StateOpen {
				t.Fatalf("breaker state = %s after 5 failures, want open", state)
			}
			_, err := query(client)
			if !errors.Is(err, gobreaker.ErrOpenState) {
				t.Errorf("Query with the breaker open returned %v, want ErrOpenState", err)
			}
			if got := api.calls.Load(); got != 5 {
				t.Errorf("the API had %d calls, want 5", got)
			}
			if len(transitions) != 1 || transitions[0] != "certificates:closed->open" {
				t.Errorf("transitions = %v, want one from closed to open", transitions)
			}
		})
	}
}

func TestQueryTimeoutCountsAsFailure(t *testing.T) {
	api := newCertificateAPI(t, http.StatusOK, oneCertificate)
	api.delay.Store(int64(2 * time.Second))
	client := prefill.NewClient(api.URL, 20*time.Millisecond, time.Minute, 0, nil)

	for range 5 {
		if _, err := query(client); err == nil {
			t.Fatal("a call slower than the timeout returned no error")
		}
	}
	if state := client.State(); state != gobreaker.StateOpen {
		t.Errorf("breaker state = %s after 5 timeouts, want open", state)
	}
}

func TestQueryCancelledNotCounted(t *testing.T) {
	api := newCertificateAPI(t, http.StatusOK, oneCertificate)
	api.delay.Store(int64(2 * time.Second))
	client := prefill.NewClient(api.URL, 10*time.Second, time.Minute, 0, nil)

	for range 6 {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(10 * time.Millisecond)
			cancel()
		}()
		if _, err := client.Query(ctx, "resident_id", "11010519491231002X", []string{"birth_certificate"}); err == nil {
			t.Fatal("a cancelled call returned no error")
		}
		cancel()
	}
	if state := client.State(); state != gobreaker.StateClosed {
		t.Errorf("breaker state = %s after calls the parent cancelled, want closed", state)
	}
}

func TestQueryBreakerHalfOpen(t *testing.T) {
	api := newCertificateAPI(t, http.StatusServiceUnavailable, `{}`)
	client := prefill.NewClient(api.URL, time.Second, 50*time.Millisecond, 0, nil)
	for range 5 {
		query(client)
	}
	api.status.Store(http.StatusOK)

	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := query(client); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the breaker never let a call through after its open period")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// MaxRequests is 2: two successes in the half-open state close it.
	if _, err := query(client); err != nil {
		t.Fatalf("second half-open call returned %v", err)
	}
	if state := client.State(); state != gobreaker.StateClosed {
		t.Errorf("breaker state = %s after two successes, want closed", state)
	}
}
