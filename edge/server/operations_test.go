package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/shared/testenv"
)

type readiness struct {
	Ready           bool     `json:"ready"`
	Problems        []string `json:"problems"`
	SnapshotVersion int64    `json:"snapshotVersion"`
}

func TestReadyzWaitsForSnapshot(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{NoSnapshot: true})

	before := e.Get(t, "/readyz", "")
	if before.Status != http.StatusServiceUnavailable {
		t.Fatalf("GET /readyz before a snapshot = %d %s, want 503", before.Status, before.Body)
	}
	var notReady readiness
	before.Decode(t, &notReady)
	if notReady.Ready || len(notReady.Problems) != 1 || !strings.Contains(notReady.Problems[0], "snapshot") {
		t.Errorf("body = %+v, want one problem naming the snapshot", notReady)
	}
	if health := e.Get(t, "/healthz", ""); health.Status != http.StatusOK {
		t.Errorf("GET /healthz = %d, want 200 while not ready", health.Status)
	}
	catalogue := e.Get(t, "/api/v1/catalogue", "")
	edgetest.CheckAPIError(t, catalogue.Error(t), http.StatusServiceUnavailable, "not_ready", "")
	registration := e.Post(t, "/api/v1/registrations", "parent-1", edgetest.JSON(t, f.Registration(t)))
	edgetest.CheckAPIError(t, registration.Error(t), http.StatusServiceUnavailable, "not_ready", "")

	e.Publish(t)

	// The edge hears of a snapshot by a Redis message, but one published
	// while it is still subscribing is only found by its poll, every 15 s,
	// so the wait is longer than that.
	var ready readiness
	eventuallyWithin(t, 45*time.Second, "the edge to load the published snapshot", func() bool {
		response := e.Get(t, "/readyz", "")
		if response.Status != http.StatusOK {
			return false
		}
		response.Decode(t, &ready)
		return true
	})
	if !ready.Ready || ready.SnapshotVersion == 0 {
		t.Errorf("body = %+v, want ready with a snapshot version", ready)
	}
	if response := e.Post(t, "/api/v1/registrations", "parent-1", edgetest.JSON(t, f.Registration(t))); response.Status != http.StatusAccepted {
		t.Errorf("POST /api/v1/registrations after the snapshot = %d %s, want 202", response.Status, response.Body)
	}
}

// TestRedisDownOverHTTP takes Redis away from a running edge: submissions
// get 503 temporarily_unavailable without a receipt, and /readyz reports
// the problem.
func TestRedisDownOverHTTP(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	proxy := edgetest.StartProxy(t, testenv.RedisAddress())
	e := f.StartEdge(t, edgetest.EdgeOptions{RedisAddress: proxy.Addr})
	if response := e.Get(t, "/readyz", ""); response.Status != http.StatusOK {
		t.Fatalf("GET /readyz = %d %s, want 200", response.Status, response.Body)
	}

	proxy.Stop()

	response := e.Post(t, "/api/v1/registrations", "parent-1", edgetest.JSON(t, f.Registration(t)))
	edgetest.CheckAPIError(t, response.Error(t), http.StatusServiceUnavailable, "temporarily_unavailable", "")
	if strings.Contains(string(response.Body), "receiptNumber") {
		t.Errorf("body %s carries a receipt", response.Body)
	}
	ready := e.Get(t, "/readyz", "")
	if ready.Status != http.StatusServiceUnavailable || !strings.Contains(string(ready.Body), "redis") {
		t.Errorf("GET /readyz = %d %s, want 503 naming redis", ready.Status, ready.Body)
	}
	if catalogue := e.Get(t, "/api/v1/catalogue", ""); catalogue.Status != http.StatusOK {
		t.Errorf("GET /api/v1/catalogue = %d, want 200 from memory", catalogue.Status)
	}
	if value, _ := metric(t, e, `edge_submissions_total{kind="registration",result="failed"}`); value != 1 {
		t.Errorf("edge_submissions_total failed = %g, want 1", value)
	}
}

func TestMetricsExposed(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{})
	e.Get(t, "/api/v1/catalogue", "")

	response := e.GetOperations(t, "/metrics")
	if response.Status != http.StatusOK {
		t.Fatalf("GET /metrics = %d", response.Status)
	}
	if contentType := response.Header.Get("Content-Type"); !strings.HasPrefix(contentType, "text/plain") {
		t.Errorf("Content-Type = %q, want the Prometheus text format", contentType)
	}
	text := string(response.Body)
	for _, name := range []string{
		"edge_requests_total", "edge_request_duration_seconds", "edge_stream_backlog",
		"edge_breaker_state", "edge_limit_rate", "edge_throttle_tracked_clients", "go_goroutines",
	} {
		if !strings.Contains(text, "\n"+name) {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if value, _ := metric(t, e, `edge_requests_total{code="200",route="GET /api/v1/catalogue"}`); value != 1 {
		t.Errorf("edge_requests_total of the catalogue = %g, want 1", value)
	}
}

// TestMetricsThrottledZero expects every throttling scope to be exported as
// zero before the first rejection, so that dashboards and rate() alerts see
// the series from the start.
func TestMetricsThrottledZero(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{})

	for _, scope := range []string{"route", "entry", "client", "shed"} {
		value, ok := metric(t, e, `edge_throttled_total{scope="`+scope+`"}`)
		if !ok || value != 0 {
			t.Errorf("edge_throttled_total{scope=%q} = %g (present %t), want 0 present", scope, value, ok)
		}
	}
}

// TestReadyzHidesInternals takes Redis away and expects /readyz, which
// anyone who reaches the edge can ask, to report the problem without the
// internal address of the Redis server.
func TestReadyzHidesInternals(t *testing.T) {
	t.Parallel()
	proxy := edgetest.StartProxy(t, testenv.RedisAddress())
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{RedisAddress: proxy.Addr})
	proxy.Stop()

	response := e.Get(t, "/readyz", "")

	if response.Status != http.StatusServiceUnavailable {
		t.Fatalf("GET /readyz = %d, want 503", response.Status)
	}
	if strings.Contains(string(response.Body), proxy.Addr) {
		t.Errorf("GET /readyz body %s shows the Redis address %s", response.Body, proxy.Addr)
	}
}

func TestMetricsNotPublic(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{})
	// The public listener answers unknown paths with the parents' app.
	response := e.Get(t, "/metrics", "")
	if strings.Contains(string(response.Body), "edge_requests_total") {
		t.Error("GET /metrics on the public listener shows the metrics, want them only on the operators' listener")
	}
	if response := e.GetOperations(t, "/readyz"); response.Status != http.StatusOK {
		t.Errorf("GET /readyz on the operators' listener = %d, want 200", response.Status)
	}
}
