package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/edge/edgetest"
	"github.com/sh-preschool/preschool/shared/linkhealth"
	"github.com/sh-preschool/preschool/shared/visits"
)

const (
	desktopAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
	phoneAgent   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49"
)

func TestPageViewsCountedByStageAndDevice(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})

	view := func(stage, agent, visitor, subject string) *edgetest.Response {
		header := map[string]string{"User-Agent": agent}
		if visitor != "" {
			header[`X-Visitor-ID`] = visitor
		}
		return e.Do(t, edgetest.Request{Method: http.MethodPost, Path: "/api/v1/page-views", Subject: subject,
			Body: []byte(`{"stage":"` + stage + `"}`), Header: header})
	}
	first, second := "0f3c8f2e-5a51-4c57-9d1c-6f1f1b0f1a01", "0f3c8f2e-5a51-4c57-9d1c-6f1f1b0f1a02"
	for _, request := range []struct{ stage, agent, visitor, subject string }{
		{visits.StageRegistration, desktopAgent, first, ""},
		{visits.StageRegistration, desktopAgent, first, ""},
		{visits.StageRegistration, desktopAgent, second, ""},
		{visits.StageRegistration, phoneAgent, first, ""},
		{visits.StageApplication, phoneAgent, "", "parent-1"},
		{visits.StageApplication, phoneAgent, second, "parent-1"},
		{visits.StageAdmission, desktopAgent, "", ""},
	} {
		if answer := view(request.stage, request.agent, request.visitor, request.subject); answer.Status != http.StatusNoContent {
			t.Fatalf("page view %+v: status = %d %s, want 204", request, answer.Status, answer.Body)
		}
	}

	keys := visits.Keys{Prefix: e.Redis.Prefix}
	day, year := visits.Day(time.Now()), visits.Year(time.Now())
	client := e.Redis.Client
	ctx := context.Background()
	count := func(key string) int64 {
		t.Helper()
		value, err := client.Do(ctx, client.B().Get().Key(key).Build()).AsInt64()
		if err != nil {
			return 0
		}
		return value
	}
	visitors := func(key string) int64 {
		t.Helper()
		value, err := client.Do(ctx, client.B().Pfcount().Key(key).Build()).AsInt64()
		if err != nil {
			t.Fatalf("PFCOUNT %s: %v", key, err)
		}
		return value
	}
	for _, want := range []struct {
		stage, device     string
		views, uniqueSeen int64
	}{
		{visits.StageRegistration, visits.DevicePC, 3, 2},
		{visits.StageRegistration, visits.DeviceMobile, 1, 1},
		// Both application views come from the signed-in parent, whatever
		// the visitor ID header contains.
		{visits.StageApplication, visits.DeviceMobile, 2, 1},
		{visits.StageApplication, visits.DevicePC, 0, 0},
		// Without an ID or a session, the client's address is the visitor.
		{visits.StageAdmission, visits.DevicePC, 1, 1},
	} {
		if got := count(keys.DayViews(day, want.stage, want.device)); got != want.views {
			t.Errorf("%s %s views today = %d, want %d", want.stage, want.device, got, want.views)
		}
		if got := count(keys.YearViews(year, want.stage, want.device)); got != want.views {
			t.Errorf("%s %s views this year = %d, want %d", want.stage, want.device, got, want.views)
		}
		if got := visitors(keys.DayVisitors(day, want.stage, want.device)); got != want.uniqueSeen {
			t.Errorf("%s %s visitors today = %d, want %d", want.stage, want.device, got, want.uniqueSeen)
		}
	}
	ttl, err := client.Do(ctx, client.B().Pttl().Key(keys.DayViews(day, visits.StageRegistration, visits.DevicePC)).Build()).AsInt64()
	if err != nil || ttl <= 0 {
		t.Errorf("day counter TTL = %d ms, %v; want an expiry", ttl, err)
	}
}

func TestPageViewRejectsUnknownStage(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})

	answer := e.Post(t, "/api/v1/page-views", "", []byte(`{"stage":"payment"}`))
	if answer.Status != http.StatusBadRequest {
		t.Fatalf("status = %d %s, want 400", answer.Status, answer.Body)
	}
	if problem := answer.Error(t); problem.Code != "invalid_stage" || !edgetest.HasHan(problem.Message) {
		t.Errorf("error = %s %q, want invalid_stage with a Chinese message", problem.Code, problem.Message)
	}
}

func TestEdgeWritesHeartbeat(t *testing.T) {
	t.Parallel()
	f := edgetest.Shared(t)
	e := f.StartEdge(t, edgetest.EdgeOptions{})

	keys := linkhealth.Keys{Prefix: e.Redis.Prefix}
	client := e.Redis.Client
	ctx := context.Background()
	var instances []string
	deadline := time.Now().Add(10 * time.Second)
	for len(instances) == 0 && time.Now().Before(deadline) {
		instances, _ = client.Do(ctx, client.B().Zrange().Key(keys.Instances()).Min("0").Max("-1").Build()).AsStrSlice()
		time.Sleep(50 * time.Millisecond)
	}
	if len(instances) != 1 {
		t.Fatalf("instances = %v, want this edge's", instances)
	}
	value, err := client.Do(ctx, client.B().Get().Key(keys.Heartbeat(instances[0])).Build()).ToString()
	if err != nil {
		t.Fatalf("read heartbeat: %v", err)
	}
	var report linkhealth.Report
	if err := json.Unmarshal([]byte(value), &report); err != nil {
		t.Fatalf("decode heartbeat %s: %v", value, err)
	}
	if report.Tier != linkhealth.TierEdge {
		t.Errorf("tier = %q, want edge", report.Tier)
	}
	if _, ok := report.LatencyMilliseconds["redis"]; !ok {
		t.Errorf("latencies = %v, want a Redis round trip", report.LatencyMilliseconds)
	}
	links := map[string]linkhealth.Status{}
	for _, status := range report.Links {
		links[status.Link] = status
	}
	for _, link := range []string{linkhealth.LinkStream, linkhealth.LinkIdentity, linkhealth.LinkCertificates} {
		if _, ok := links[link]; !ok {
			t.Errorf("links = %+v, want %s", report.Links, link)
		}
	}
	if stream := links[linkhealth.LinkStream]; stream.LastSuccess == nil || stream.Failing() {
		t.Errorf("stream link = %+v, want a success from the Redis probe", stream)
	}
	if breaker := links[linkhealth.LinkCertificates].Breaker; breaker != linkhealth.BreakerClosed {
		t.Errorf("certificate breaker = %q, want closed", breaker)
	}
}
