package server_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/shared/enrolment"
)

// limitsWith returns a limits file that is GenerousLimits except for the given
// tables, each a whole table such as "[clients]\nrate = 1 ...".
func limitsWith(tables ...string) string {
	text := edgetest.GenerousLimits
	for _, table := range tables {
		name := table[:strings.Index(table, "]")+1]
		start := strings.Index(text, name)
		end := strings.Index(text[start+1:], "\n[")
		if end < 0 {
			text = text[:start] + table
		} else {
			text = text[:start] + table + text[start+1+end:]
		}
	}
	return text
}

// slowRegistrations lets one registration through every 100 seconds.
const slowRegistrations = `[routes]
default = { rate = 100000, burst = 100000 }
"POST /api/v1/registrations" = { rate = 0.01, burst = 1 }
`

func checkThrottled(t *testing.T, response *edgetest.Response, retryAfter string) {
	t.Helper()
	edgetest.CheckAPIError(t, response.Error(t), http.StatusTooManyRequests, "too_many_requests", "")
	if got := response.Header.Get("Retry-After"); got != retryAfter {
		t.Errorf("Retry-After = %q, want %q", got, retryAfter)
	}
	if message := response.Error(t).Message; !strings.Contains(message, "请 "+retryAfter+" 秒后再试") {
		t.Errorf("message %q does not ask to retry after %s seconds", message, retryAfter)
	}
}

func TestThrottleRoute(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{Limits: limitsWith(slowRegistrations)})

	first := e.Post(t, "/api/v1/registrations", "parent-1", edgetest.JSON(t, f.Registration(t)))
	if first.Status != http.StatusAccepted {
		t.Fatalf("first registration = %d %s, want 202", first.Status, first.Body)
	}
	second := e.Post(t, "/api/v1/registrations", "parent-2", edgetest.JSON(t, f.Registration(t)))
	checkThrottled(t, second, "100")

	if other := e.Get(t, "/api/v1/catalogue", "parent-2"); other.Status != http.StatusOK {
		t.Errorf("another route = %d, want 200", other.Status)
	}
	if value, ok := metric(t, e, `edge_throttled_total{scope="route"}`); value != 1 {
		t.Errorf("edge_throttled_total{scope=\"route\"} = %g (present %t), want 1", value, ok)
	}
	if value, _ := metric(t, e, `edge_requests_total{code="429",route="POST /api/v1/registrations"}`); value != 1 {
		t.Errorf("edge_requests_total for the 429 = %g, want 1", value)
	}
}

func TestThrottleClient(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{Limits: limitsWith(`[clients]
rate = 0.01
burst = 2
max_tracked = 1000
idle_ttl = "10m"
`)})

	for i := range 2 {
		if response := e.Get(t, "/api/v1/catalogue", "parent-1"); response.Status != http.StatusOK {
			t.Fatalf("request %d within the burst = %d", i+1, response.Status)
		}
	}
	checkThrottled(t, e.Get(t, "/api/v1/catalogue", "parent-1"), "100")

	if response := e.Get(t, "/api/v1/catalogue", "parent-2"); response.Status != http.StatusOK {
		t.Errorf("another parent = %d, want 200", response.Status)
	}
	if value, _ := metric(t, e, `edge_throttled_total{scope="client"}`); value != 1 {
		t.Errorf("edge_throttled_total{scope=\"client\"} = %g, want 1", value)
	}
}

// TestThrottleSignedOutByAddress throttles clients that are not signed in
// by their IP address, here 127.0.0.1 for every request.
func TestThrottleSignedOutByAddress(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{Limits: limitsWith(`[clients]
rate = 0.01
burst = 1
max_tracked = 1000
idle_ttl = "10m"
`)})

	if response := e.Get(t, "/api/v1/catalogue", ""); response.Status != http.StatusOK {
		t.Fatalf("first request = %d", response.Status)
	}
	checkThrottled(t, e.Get(t, "/api/v1/catalogue", ""), "100")
	spoofed := e.Do(t, edgetest.Request{Method: "GET", Path: "/api/v1/catalogue", Header: map[string]string{"X-Forwarded-For": "203.0.113.7"}})
	checkThrottled(t, spoofed, "100")
}

// TestThrottleForwardedFor keys clients that are not signed in by the last
// X-Forwarded-For address, which the load balancer appends, when the edge
// is configured to trust it.
func TestThrottleForwardedFor(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{TrustForwardedFor: true, Limits: limitsWith(`[clients]
rate = 0.01
burst = 1
max_tracked = 1000
idle_ttl = "10m"
`)})
	forwarded := func(addresses string) *edgetest.Response {
		return e.Do(t, edgetest.Request{Method: "GET", Path: "/api/v1/catalogue", Header: map[string]string{"X-Forwarded-For": addresses}})
	}

	if response := forwarded("198.51.100.1, 203.0.113.7"); response.Status != http.StatusOK {
		t.Fatalf("first request = %d", response.Status)
	}
	checkThrottled(t, forwarded("198.51.100.2, 203.0.113.7"), "100")
	if response := forwarded("203.0.113.7, 203.0.113.8"); response.Status != http.StatusOK {
		t.Errorf("another last address = %d, want 200", response.Status)
	}
	if response := e.Get(t, "/api/v1/catalogue", ""); response.Status != http.StatusOK {
		t.Errorf("a request without X-Forwarded-For = %d, want 200 keyed by its own address", response.Status)
	}
}

// TestThrottleApplicationEntry gives one application entry a bucket of its
// own, named by the entry's ID.
func TestThrottleApplicationEntry(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	entry, ok := f.Catalogue.Entry(f.Year.Year, edgetest.HomeDistrict, enrolment.CategoryDistrictHukouResident)
	if !ok {
		t.Fatal("the fixture has no district_hukou_resident entry in the home district")
	}
	e := f.StartEdge(t, edgetest.EdgeOptions{Limits: limitsWith(`[entries]
default = { rate = 100000, burst = 100000 }
"` + strconv.FormatInt(entry.ID, 10) + `" = { rate = 0.01, burst = 1 }
`)})
	home := f.Address(t, edgetest.HomeDistrict, 1)
	apply := func(subject string) *edgetest.Response {
		var registered receiptBody
		e.Post(t, "/api/v1/registrations", subject, edgetest.JSON(t, f.Registration(t))).Decode(t, &registered)
		application := edgetest.Application(registered.ReceiptNumber, home, enrolment.CategoryDistrictHukouResident)
		return e.Post(t, "/api/v1/applications", subject, edgetest.JSON(t, application))
	}

	if first := apply("parent-1"); first.Status != http.StatusAccepted {
		t.Fatalf("first application = %d %s, want 202", first.Status, first.Body)
	}
	checkThrottled(t, apply("parent-2"), "100")

	other := f.OtherProvinceRegistration(t)
	var registered receiptBody
	e.Post(t, "/api/v1/registrations", "parent-3", edgetest.JSON(t, other)).Decode(t, &registered)
	application := edgetest.Application(registered.ReceiptNumber, home, enrolment.CategoryResidencePermit)
	if response := e.Post(t, "/api/v1/applications", "parent-3", edgetest.JSON(t, application)); response.Status != http.StatusAccepted {
		t.Errorf("an application to another entry = %d %s, want 202", response.Status, response.Body)
	}
}

func TestThrottleEntry(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{Limits: limitsWith(`[entries]
default = { rate = 100000, burst = 100000 }
registration = { rate = 0.01, burst = 1 }
`)})

	first := e.Post(t, "/api/v1/registrations", "parent-1", edgetest.JSON(t, f.Registration(t)))
	if first.Status != http.StatusAccepted {
		t.Fatalf("first registration = %d %s, want 202", first.Status, first.Body)
	}
	checkThrottled(t, e.Post(t, "/api/v1/registrations", "parent-2", edgetest.JSON(t, f.Registration(t))), "100")
	if value, _ := metric(t, e, `edge_throttled_total{scope="entry"}`); value != 1 {
		t.Errorf("edge_throttled_total{scope=\"entry\"} = %g, want 1", value)
	}

	// A malformed body is rejected before it takes an entry token.
	malformed := e.Post(t, "/api/v1/registrations", "parent-3", []byte("{"))
	edgetest.CheckAPIError(t, malformed.Error(t), http.StatusBadRequest, "malformed_json", "")
}

// TestShedding fills the stream past the backlog limit without a consumer
// and expects submissions, and only submissions, to be turned away.
func TestShedding(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{Limits: limitsWith("[shedding]\nmax_backlog = 5\nretry_after = \"7s\"\n")})
	client := e.Redis.Client
	ctx := context.Background()
	for range 6 {
		if err := client.Do(ctx, client.B().Xadd().Key(e.Keys.Stream()).Id("*").FieldValue().FieldValue("kind", "test").Build()).Error(); err != nil {
			t.Fatalf("XADD: %v", err)
		}
	}

	var shed *edgetest.Response
	eventually(t, "the edge to shed a submission", func() bool {
		shed = e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}"))
		return shed.Status == http.StatusServiceUnavailable
	})
	edgetest.CheckAPIError(t, shed.Error(t), http.StatusServiceUnavailable, "system_busy", "")
	if got := shed.Header.Get("Retry-After"); got != "7" {
		t.Errorf("Retry-After = %q, want 7", got)
	}
	if message := shed.Error(t).Message; !strings.Contains(message, "7 秒") {
		t.Errorf("message %q does not say 7 秒", message)
	}
	application := e.Post(t, "/api/v1/applications", "parent-1", []byte("{}"))
	edgetest.CheckAPIError(t, application.Error(t), http.StatusServiceUnavailable, "system_busy", "")
	if read := e.Get(t, "/api/v1/catalogue", "parent-1"); read.Status != http.StatusOK {
		t.Errorf("a read while shedding = %d, want 200", read.Status)
	}
	if value, _ := metric(t, e, `edge_throttled_total{scope="shed"}`); value < 2 {
		t.Errorf("edge_throttled_total{scope=\"shed\"} = %g, want at least 2", value)
	}
	if value, _ := metric(t, e, "edge_stream_backlog"); value != 6 {
		t.Errorf("edge_stream_backlog = %g, want 6", value)
	}

	if err := client.Do(ctx, client.B().Xtrim().Key(e.Keys.Stream()).Maxlen().Threshold("0").Build()).Error(); err != nil {
		t.Fatalf("XTRIM: %v", err)
	}
	eventually(t, "the edge to accept submissions again", func() bool {
		return e.Post(t, "/api/v1/registrations", "parent-1", edgetest.JSON(t, f.Registration(t))).Status == http.StatusAccepted
	})
}

// TestSheddingConsumerGroup counts the entries a consumer group has not yet
// read or acknowledged, as the back office's group would leave them.
func TestSheddingConsumerGroup(t *testing.T) {
	t.Parallel()
	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{Limits: limitsWith("[shedding]\nmax_backlog = 3\nretry_after = \"2s\"\n")})
	client := e.Redis.Client
	ctx := context.Background()
	stream := e.Keys.Stream()
	if err := client.Do(ctx, client.B().XgroupCreate().Key(stream).Group(e.Keys.ConsumerGroup()).Id("0").Mkstream().Build()).Error(); err != nil {
		t.Fatalf("XGROUP CREATE: %v", err)
	}
	for range 4 {
		if err := client.Do(ctx, client.B().Xadd().Key(stream).Id("*").FieldValue().FieldValue("kind", "test").Build()).Error(); err != nil {
			t.Fatalf("XADD: %v", err)
		}
	}
	// Two entries are read but not acknowledged: still pending, so still
	// part of the backlog.
	if err := client.Do(ctx, client.B().Xreadgroup().Group(e.Keys.ConsumerGroup(), "test").Count(2).Streams().Key(stream).Id(">").Build()).Error(); err != nil {
		t.Fatalf("XREADGROUP: %v", err)
	}

	eventually(t, "the edge to shed with 4 entries waiting", func() bool {
		return e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}")).Status == http.StatusServiceUnavailable
	})
	if value, _ := metric(t, e, "edge_stream_backlog"); value != 4 {
		t.Errorf("edge_stream_backlog = %g, want 4 (2 lagging and 2 pending)", value)
	}
}

// TestLimitsReload changes the limits file under a running edge: a valid
// change applies without a restart, an invalid one leaves the limits in
// force.
func TestLimitsReload(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{Limits: limitsWith(slowRegistrations)})
	e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}"))
	checkThrottled(t, e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}")), "100")

	e.WriteLimits(t, limitsWith(`[routes]
default = { rate = 100000, burst = 100000 }
"POST /api/v1/registrations" = { rate = 0.02, burst = 3 }
`))
	eventually(t, "the edge to apply the new limits", func() bool {
		value, _ := metric(t, e, `edge_limits_reloads_total{result="applied"}`)
		return value >= 1
	})
	if value, _ := metric(t, e, `edge_limit_rate{key="POST /api/v1/registrations",scope="route"}`); value != 0.02 {
		t.Errorf("edge_limit_rate of the route = %g, want 0.02", value)
	}
	for i := range 3 {
		response := e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}"))
		edgetest.CheckAPIError(t, response.Error(t), http.StatusBadRequest, "missing_field", "enrolmentYear")
		if t.Failed() {
			t.Fatalf("request %d of the new burst of 3 was not let through", i+1)
		}
	}
	checkThrottled(t, e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}")), "50")

	rejected, _ := metric(t, e, `edge_limits_reloads_total{result="rejected"}`)
	e.WriteLimits(t, "[routes]\ndefault = { rate = -1, burst = 1 }\n")
	eventually(t, "the edge to reject the invalid limits", func() bool {
		value, _ := metric(t, e, `edge_limits_reloads_total{result="rejected"}`)
		return value > rejected
	})
	checkThrottled(t, e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}")), "50")
	if value, _ := metric(t, e, `edge_limit_rate{key="POST /api/v1/registrations",scope="route"}`); value != 0.02 {
		t.Errorf("edge_limit_rate of the route after the invalid file = %g, want 0.02", value)
	}
}

// TestLimitsReloadKeepsBuckets rewrites the limits file under a running
// edge: the same content is not applied again, and a change to another
// table leaves the empty registration bucket empty.
func TestLimitsReloadKeepsBuckets(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	text := limitsWith(slowRegistrations)
	e := f.StartEdge(t, edgetest.EdgeOptions{Limits: text})
	e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}"))
	checkThrottled(t, e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}")), "100")

	e.WriteLimits(t, text)
	eventually(t, "the edge to read the rewritten file", func() bool {
		value, _ := metric(t, e, `edge_limits_reloads_total{result="unchanged"}`)
		return value >= 1
	})
	if value, _ := metric(t, e, `edge_limits_reloads_total{result="applied"}`); value != 0 {
		t.Errorf("edge_limits_reloads_total{result=\"applied\"} after rewriting the same content = %g, want 0", value)
	}
	checkThrottled(t, e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}")), "100")

	e.WriteLimits(t, limitsWith(slowRegistrations, "[shedding]\nmax_backlog = 999999\nretry_after = \"5s\"\n"))
	eventually(t, "the edge to apply the changed shedding table", func() bool {
		value, _ := metric(t, e, `edge_limits_reloads_total{result="applied"}`)
		return value >= 1
	})
	checkThrottled(t, e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}")), "100")
}

// TestLimitsReloadUnknownRoute misspells a route name in the limits file
// under a running edge: the file is rejected, and the route keeps its
// bucket.
func TestLimitsReloadUnknownRoute(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{Limits: limitsWith(slowRegistrations)})
	e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}"))
	checkThrottled(t, e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}")), "100")

	e.WriteLimits(t, limitsWith(`[routes]
default = { rate = 100000, burst = 100000 }
"POST /api/v1/registrationz" = { rate = 0.01, burst = 1 }
`))
	eventually(t, "the edge to reject the misspelt route", func() bool {
		value, _ := metric(t, e, `edge_limits_reloads_total{result="rejected"}`)
		return value >= 1
	})
	if value, _ := metric(t, e, `edge_limits_reloads_total{result="applied"}`); value != 0 {
		t.Errorf("edge_limits_reloads_total{result=\"applied\"} after the misspelt route = %g, want 0", value)
	}
	checkThrottled(t, e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}")), "100")
	if value, _ := metric(t, e, `edge_limit_rate{key="POST /api/v1/registrations",scope="route"}`); value != 0.01 {
		t.Errorf("edge_limit_rate of the route after the misspelt file = %g, want 0.01", value)
	}
}

// TestStartDeployLimits starts an edge with deploy/limits.toml, whose
// route names must all be routes of the edge.
func TestStartDeployLimits(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "limits.toml"))
	if err != nil {
		t.Fatal(err)
	}

	e := edgetest.Shared(t).StartEdge(t, edgetest.EdgeOptions{Limits: string(data)})

	if value, _ := metric(t, e, `edge_limit_rate{key="POST /api/v1/registrations",scope="route"}`); value != 30000 {
		t.Errorf("edge_limit_rate of the registration route = %g, want deploy/limits.toml's 30000", value)
	}
}

// TestSheddingStreamDeleted deletes a stream whose backlog made the edge
// shed, as a Redis failover or an operator may: with no stream nothing
// waits, so submissions must be accepted again.
func TestSheddingStreamDeleted(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{Limits: limitsWith("[shedding]\nmax_backlog = 2\nretry_after = \"3s\"\n")})
	client := e.Redis.Client
	ctx := context.Background()
	for range 3 {
		if err := client.Do(ctx, client.B().Xadd().Key(e.Keys.Stream()).Id("*").FieldValue().FieldValue("kind", "test").Build()).Error(); err != nil {
			t.Fatalf("XADD: %v", err)
		}
	}
	eventually(t, "the edge to shed", func() bool {
		return e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}")).Status == http.StatusServiceUnavailable
	})

	if err := client.Do(ctx, client.B().Del().Key(e.Keys.Stream()).Build()).Error(); err != nil {
		t.Fatalf("DEL: %v", err)
	}

	eventually(t, "the edge to stop shedding", func() bool {
		return e.Post(t, "/api/v1/registrations", "parent-1", []byte("{}")).Status != http.StatusServiceUnavailable
	})
}
