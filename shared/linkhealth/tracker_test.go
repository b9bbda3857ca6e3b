package linkhealth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/shared/hoststats"
	"github.com/sh-preschool/preschool/shared/linkhealth"
	"github.com/sh-preschool/preschool/shared/testenv"
)

func statusOf(t *testing.T, tracker *linkhealth.Tracker, link string) linkhealth.Status {
	t.Helper()
	for _, status := range tracker.Snapshot() {
		if status.Link == link {
			return status
		}
	}
	t.Fatalf("link %s missing from %+v", link, tracker.Snapshot())
	return linkhealth.Status{}
}

func TestTransportRecordsOutcomes(t *testing.T) {
	status := http.StatusOK
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	defer server.Close()
	tracker := linkhealth.NewTracker(nil)
	client := tracker.Wrap(&http.Client{Timeout: time.Second}, linkhealth.LinkDataAPI)

	call := func() {
		t.Helper()
		response, err := client.Post(server.URL+"/v1/verify", "application/json", nil)
		if err != nil {
			t.Fatalf("call: %v", err)
		}
		response.Body.Close()
	}
	call()
	if got := statusOf(t, tracker, linkhealth.LinkDataAPI); got.LastSuccess == nil || got.Failing() {
		t.Errorf("after 200: %+v, want a success", got)
	}

	status = http.StatusServiceUnavailable
	call()
	got := statusOf(t, tracker, linkhealth.LinkDataAPI)
	if !got.Failing() {
		t.Errorf("after 503: %+v, want failing", got)
	}
	if got.Interface != "POST /v1/verify" {
		t.Errorf("interface = %q, want POST /v1/verify", got.Interface)
	}
	if got.ErrorCode != "http_503" {
		t.Errorf("error code = %q, want http_503", got.ErrorCode)
	}
	if got.Breaker != linkhealth.BreakerNone {
		t.Errorf("breaker = %q, want none for a link registered without one", got.Breaker)
	}

	// A 4xx is the service rejecting one request, not the link failing.
	status = http.StatusBadRequest
	call()
	if got := statusOf(t, tracker, linkhealth.LinkDataAPI); got.Failing() {
		t.Errorf("after 400: %+v, want healthy", got)
	}
}

func TestTransportRecordsRefusedConnection(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := listener.Addr().String()
	listener.Close()
	tracker := linkhealth.NewTracker(nil)
	client := tracker.Wrap(&http.Client{Timeout: time.Second}, linkhealth.LinkSMS)

	if _, err := client.Get("http://" + address + "/send"); err == nil {
		t.Fatal("call to a closed port succeeded")
	}
	got := statusOf(t, tracker, linkhealth.LinkSMS)
	if got.ErrorCode != "connection_refused" || got.Interface != "GET /send" {
		t.Errorf("status = %+v, want connection_refused on GET /send", got)
	}
}

func TestOpenBreakerIsFailing(t *testing.T) {
	tracker := linkhealth.NewTracker(nil)
	tracker.Register(linkhealth.LinkCertificates, func() string { return linkhealth.BreakerOpen })
	tracker.Success(linkhealth.LinkCertificates)
	if got := statusOf(t, tracker, linkhealth.LinkCertificates); !got.Failing() {
		t.Errorf("status = %+v, want failing while the breaker is open", got)
	}
}

func TestErrorCodes(t *testing.T) {
	for _, test := range []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, "timeout"},
		{linkhealth.StatusError{Code: 502}, "http_502"},
		{linkhealth.CodedError{Code: "no_consumer_group", Err: errors.New("no group")}, "no_consumer_group"},
		{&net.DNSError{Err: "no such host", Name: "data-api.invalid"}, "dns_error"},
		{errors.New("something else"), "error"},
	} {
		if got := linkhealth.ErrorCode(test.err); got != test.want {
			t.Errorf("ErrorCode(%v) = %q, want %q", test.err, got, test.want)
		}
	}
}

func TestReporterWritesHeartbeat(t *testing.T) {
	redis := testenv.NewRedis(t)
	tracker := linkhealth.NewTracker(nil)
	tracker.Register(linkhealth.LinkDataAPI, func() string { return linkhealth.BreakerOpen })
	tracker.Failure(linkhealth.LinkDataAPI, "POST /v1/verify", "timeout")
	reporter := &linkhealth.Reporter{
		Redis: redis.Client, Keys: linkhealth.Keys{Prefix: redis.Prefix}, Tier: linkhealth.TierBackOffice,
		Instance: "host-a/backoffice/1", Interval: 2 * time.Second, Tracker: tracker,
		Sampler: &hoststats.Sampler{DiskPath: t.TempDir()},
		Probes: []linkhealth.Probe{
			{Target: "redis", Check: func(ctx context.Context) error { return nil }},
			{Target: "postgresql", Check: func(ctx context.Context) error { return context.DeadlineExceeded }},
		},
	}
	ctx := context.Background()
	if err := reporter.Report(ctx); err != nil {
		t.Fatalf("report: %v", err)
	}

	key := linkhealth.Keys{Prefix: redis.Prefix}.Heartbeat("host-a/backoffice/1")
	ttl, err := redis.Client.Do(ctx, redis.Client.B().Pttl().Key(key).Build()).AsInt64()
	if err != nil || ttl <= 0 || ttl > 6000 {
		t.Errorf("heartbeat TTL = %d ms, %v; want at most 3 intervals (6000 ms)", ttl, err)
	}
	value, err := redis.Client.Do(ctx, redis.Client.B().Get().Key(key).Build()).ToString()
	if err != nil {
		t.Fatalf("read heartbeat: %v", err)
	}
	var report linkhealth.Report
	if err := json.Unmarshal([]byte(value), &report); err != nil {
		t.Fatalf("decode %s: %v", value, err)
	}
	if _, ok := report.LatencyMilliseconds["redis"]; !ok {
		t.Errorf("latencies = %v, want redis", report.LatencyMilliseconds)
	}
	if report.ProbeErrors["postgresql"] != "timeout" {
		t.Errorf("probe errors = %v, want postgresql: timeout", report.ProbeErrors)
	}
	if report.Resources.MemoryBytes == 0 || report.Resources.DiskBytes == 0 {
		t.Errorf("resources = %+v, want the host's memory and disk", report.Resources)
	}
	if len(report.Links) != 1 || report.Links[0].Breaker != linkhealth.BreakerOpen || report.Links[0].Interface != "POST /v1/verify" {
		t.Errorf("links = %+v, want the data API with an open breaker", report.Links)
	}
	score, err := redis.Client.Do(ctx, redis.Client.B().Zscore().Key(linkhealth.Keys{Prefix: redis.Prefix}.Instances()).Member("host-a/backoffice/1").Build()).AsFloat64()
	if err != nil || int64(score) != report.ReportedAt.UnixMilli() {
		t.Errorf("instance score = %v, %v; want the report time %d", score, err, report.ReportedAt.UnixMilli())
	}
}
