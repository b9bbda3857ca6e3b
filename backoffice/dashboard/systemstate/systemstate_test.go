package systemstate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	"github.com/sh-preschool/preschool/backoffice/dashboard/alerts"
	"github.com/sh-preschool/preschool/backoffice/dashboard/systemstate"
	"github.com/sh-preschool/preschool/shared/hoststats"
	"github.com/sh-preschool/preschool/shared/linkhealth"
	"github.com/sh-preschool/preschool/shared/testenv"
	"github.com/sh-preschool/preschool/shared/visits"
)

var now = time.Date(2026, 5, 20, 10, 0, 0, 0, time.UTC)

// writeHeartbeat stores report as instance's heartbeat, as a Reporter
// would, with the report time the test chooses.
func writeHeartbeat(t *testing.T, redis *testenv.Redis, report linkhealth.Report) {
	t.Helper()
	keys := linkhealth.Keys{Prefix: redis.Prefix}
	if report.IntervalSeconds == 0 {
		report.IntervalSeconds = 5
	}
	value, err := json.Marshal(report)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	client := redis.Client
	for _, result := range client.DoMulti(ctx,
		client.B().Set().Key(keys.Heartbeat(report.Instance)).Value(string(value)).Ex(time.Minute).Build(),
		client.B().Zadd().Key(keys.Instances()).ScoreMember().ScoreMember(float64(report.ReportedAt.UnixMilli()), report.Instance).Build(),
	) {
		if err := result.Error(); err != nil {
			t.Fatalf("write heartbeat: %v", err)
		}
	}
}

func at(t time.Time) *time.Time { return &t }

func linksByCode(links []systemstate.Link) map[string]systemstate.Link {
	byCode := map[string]systemstate.Link{}
	for _, link := range links {
		byCode[link.Code] = link
	}
	return byCode
}

func TestLinkWithOpenBreakerIsFailing(t *testing.T) {
	redis := testenv.NewRedis(t)
	writeHeartbeat(t, redis, linkhealth.Report{
		Instance: "edge-1", Tier: linkhealth.TierEdge, ReportedAt: now.Add(-2 * time.Second),
		Links: []linkhealth.Status{
			{Link: linkhealth.LinkStream, Breaker: linkhealth.BreakerNone, LastSuccess: at(now.Add(-3 * time.Second))},
			{Link: linkhealth.LinkCertificates, Breaker: linkhealth.BreakerOpen, LastSuccess: at(now.Add(-time.Hour)),
				LastFailure: at(now.Add(-10 * time.Second)), Interface: "POST /v1/certificates/query", ErrorCode: "http_503"},
		},
	})
	writeHeartbeat(t, redis, linkhealth.Report{
		Instance: "edge-2", Tier: linkhealth.TierEdge, ReportedAt: now.Add(-time.Second),
		Links: []linkhealth.Status{{Link: linkhealth.LinkCertificates, Breaker: linkhealth.BreakerClosed, LastSuccess: at(now.Add(-time.Second))}},
	})
	store := &systemstate.Store{Redis: redis.Client, Prefix: redis.Prefix}
	heartbeats, err := store.Heartbeats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	links := linksByCode(systemstate.Links(heartbeats, now))

	certificates := links[linkhealth.LinkCertificates]
	if certificates.Status != systemstate.StatusFailing {
		t.Errorf("certificate link status = %q, want failing", certificates.Status)
	}
	if certificates.Interface != "POST /v1/certificates/query" || certificates.ErrorCode != "http_503" {
		t.Errorf("certificate link failure = %q %q, want the interface and http_503", certificates.Interface, certificates.ErrorCode)
	}
	if certificates.Breaker != linkhealth.BreakerOpen {
		t.Errorf("certificate breaker = %q, want the worst reporter's open", certificates.Breaker)
	}
	if certificates.Reporters != 2 || len(certificates.Failures) != 1 || certificates.Failures[0].Instance != "edge-1" {
		t.Errorf("reporters = %d, failures = %+v; want 2 reporters and edge-1 failing", certificates.Reporters, certificates.Failures)
	}
	if stream := links[linkhealth.LinkStream]; stream.Status != systemstate.StatusOK {
		t.Errorf("stream link = %+v, want ok", stream)
	}
	// No back office reports, so its links are unknown, not healthy.
	for _, code := range []string{linkhealth.LinkDrain, linkhealth.LinkDataAPI, linkhealth.LinkSMS} {
		if links[code].Status != systemstate.StatusUnknown {
			t.Errorf("%s status = %q, want unknown", code, links[code].Status)
		}
	}
	// The identity link was never reported.
	if links[linkhealth.LinkIdentity].Status != systemstate.StatusUnknown {
		t.Errorf("identity status = %q, want unknown", links[linkhealth.LinkIdentity].Status)
	}
}

func TestStaleHeartbeatIsUnknown(t *testing.T) {
	redis := testenv.NewRedis(t)
	// Three intervals of 5 s have passed since this report: too old.
	writeHeartbeat(t, redis, linkhealth.Report{
		Instance: "backoffice-1", Tier: linkhealth.TierBackOffice, ReportedAt: now.Add(-16 * time.Second),
		Resources: hoststats.Sample{CPU: 0.1, Memory: 0.2, Disk: 0.3},
		Links:     []linkhealth.Status{{Link: linkhealth.LinkDataAPI, Breaker: linkhealth.BreakerClosed, LastSuccess: at(now.Add(-16 * time.Second))}},
	})
	// This process's heartbeat key has expired; only the index remembers it.
	keys := linkhealth.Keys{Prefix: redis.Prefix}
	err := redis.Client.Do(context.Background(), redis.Client.B().Zadd().Key(keys.Instances()).ScoreMember().
		ScoreMember(float64(now.Add(-time.Hour).UnixMilli()), "backoffice-2").Build()).Error()
	if err != nil {
		t.Fatal(err)
	}

	store := &systemstate.Store{Redis: redis.Client, Prefix: redis.Prefix}
	heartbeats, err := store.Heartbeats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if link := linksByCode(systemstate.Links(heartbeats, now))[linkhealth.LinkDataAPI]; link.Status != systemstate.StatusUnknown || link.Reporters != 0 {
		t.Errorf("data API link = %+v, want unknown with no reporter", link)
	}
	servers := systemstate.Servers(heartbeats, nil, now)
	if len(servers) != 2 {
		t.Fatalf("servers = %+v, want both processes", servers)
	}
	for _, server := range servers {
		if server.Status != systemstate.StatusUnknown || server.CPU != nil {
			t.Errorf("server %s = %q with CPU %v, want unknown without figures", server.Instance, server.Status, server.CPU)
		}
	}
	if !servers[1].LastSeen.Equal(now.Add(-time.Hour)) && !servers[0].LastSeen.Equal(now.Add(-time.Hour)) {
		t.Errorf("last seen = %v, %v; want the index's time for the expired heartbeat", servers[0].LastSeen, servers[1].LastSeen)
	}
}

func TestServersAgainstThresholds(t *testing.T) {
	thresholds := []alerts.Threshold{
		{Code: systemstate.ThresholdCPU, Comparison: "above", Threshold: 0.85},
		{Code: systemstate.ThresholdMemory, Comparison: "above", Threshold: 0.9},
		{Code: systemstate.ThresholdDisk, Comparison: "above", Threshold: 0.9},
		{Code: systemstate.ThresholdLatency, Comparison: "above", Threshold: 50},
	}
	busy := &linkhealth.Report{
		Instance: "busy", Tier: linkhealth.TierEdge, ReportedAt: now, IntervalSeconds: 5,
		Resources:           hoststats.Sample{CPU: 0.95, Memory: 0.5, Disk: 0.92},
		LatencyMilliseconds: map[string]float64{"redis": 80},
		ProbeErrors:         map[string]string{"postgresql": "timeout"},
	}
	calm := &linkhealth.Report{
		Instance: "calm", Tier: linkhealth.TierBackOffice, ReportedAt: now, IntervalSeconds: 5,
		Resources:           hoststats.Sample{CPU: 0.2, Memory: 0.5, Disk: 0.5},
		LatencyMilliseconds: map[string]float64{"redis": 0.4, "postgresql": 1.2},
	}
	servers := systemstate.Servers([]systemstate.Heartbeat{
		{Instance: "calm", LastSeen: now, Report: calm},
		{Instance: "busy", LastSeen: now, Report: busy},
	}, thresholds, now)

	if servers[0].Instance != "busy" || servers[0].Status != systemstate.StatusAlert {
		t.Fatalf("first server = %s %s, want busy in alert first", servers[0].Instance, servers[0].Status)
	}
	codes := map[string]int{}
	for _, breach := range servers[0].Breaches {
		codes[breach.Code]++
	}
	want := map[string]int{systemstate.ThresholdCPU: 1, systemstate.ThresholdDisk: 1, systemstate.ThresholdLatency: 1, "probe_failed": 1}
	for code, count := range want {
		if codes[code] != count {
			t.Errorf("busy breaches %v: %s = %d, want %d", servers[0].Breaches, code, codes[code], count)
		}
	}
	if codes[systemstate.ThresholdMemory] != 0 {
		t.Errorf("busy breaches %v include memory at 50%%", servers[0].Breaches)
	}
	if servers[1].Status != systemstate.StatusOK || len(servers[1].Breaches) != 0 {
		t.Errorf("calm server = %s with %v, want ok", servers[1].Status, servers[1].Breaches)
	}
}

func TestVisitsByStageAndDevice(t *testing.T) {
	redis := testenv.NewRedis(t)
	keys := visits.Keys{Prefix: redis.Prefix}
	client := redis.Client
	ctx := context.Background()
	day, year := visits.Day(now), visits.Year(now)
	yesterday := visits.Day(now.Add(-24 * time.Hour))
	add := func(day, stage, device string, views int64, visitors ...string) {
		t.Helper()
		for _, result := range client.DoMulti(ctx,
			client.B().Incrby().Key(keys.DayViews(day, stage, device)).Increment(views).Build(),
			client.B().Pfadd().Key(keys.DayVisitors(day, stage, device)).Element(visitors...).Build(),
			client.B().Incrby().Key(keys.YearViews(year, stage, device)).Increment(views).Build(),
			client.B().Pfadd().Key(keys.YearVisitors(year, stage, device)).Element(visitors...).Build(),
		) {
			if err := result.Error(); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(day, visits.StageRegistration, visits.DevicePC, 5, "a", "b")
	add(day, visits.StageRegistration, visits.DeviceMobile, 3, "a", "c")
	add(day, visits.StageApplication, visits.DeviceMobile, 2, "c")
	add(yesterday, visits.StageRegistration, visits.DevicePC, 7, "d", "e", "f")

	store := &systemstate.Store{Redis: client, Prefix: redis.Prefix}
	got, err := store.Visits(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	registration, application, admission := got.Stages[0], got.Stages[1], got.Stages[2]
	checks := []struct {
		name      string
		got, want systemstate.Traffic
	}{
		{"registration pc today", registration.Today.PC, systemstate.Traffic{Views: 5, Visitors: 2}},
		{"registration mobile today", registration.Today.Mobile, systemstate.Traffic{Views: 3, Visitors: 2}},
		// a counts once across devices.
		{"registration total today", registration.Today.Total, systemstate.Traffic{Views: 8, Visitors: 3}},
		{"registration pc this year", registration.Year.PC, systemstate.Traffic{Views: 12, Visitors: 5}},
		{"application mobile today", application.Today.Mobile, systemstate.Traffic{Views: 2, Visitors: 1}},
		{"admission total this year", admission.Year.Total, systemstate.Traffic{}},
		{"all mobile today", got.Today.Mobile, systemstate.Traffic{Views: 5, Visitors: 2}},
		// a, b and c; c counts once across stages.
		{"all today", got.Today.Total, systemstate.Traffic{Views: 10, Visitors: 3}},
		{"all this year", got.Total.Total, systemstate.Traffic{Views: 17, Visitors: 6}},
	}
	for _, check := range checks {
		if check.got != check.want {
			t.Errorf("%s = %+v, want %+v", check.name, check.got, check.want)
		}
	}
	if registration.Name != "信息登记" || admission.Code != visits.StageAdmission {
		t.Errorf("stages = %+v, want registration first and admission last", got.Stages)
	}
}

func TestDistrictViewerSeesNoServers(t *testing.T) {
	redis := testenv.NewRedis(t)
	writeHeartbeat(t, redis, linkhealth.Report{
		Instance: "edge-1", Tier: linkhealth.TierEdge, Host: "edge-host-1", ReportedAt: now,
		Links: []linkhealth.Status{{Link: linkhealth.LinkStream, Breaker: linkhealth.BreakerNone, LastSuccess: at(now)}},
	})
	handlers := &systemstate.Handlers{
		Store: &systemstate.Store{Redis: redis.Client, Prefix: redis.Prefix},
		Thresholds: func(context.Context) ([]alerts.Threshold, error) {
			return []alerts.Threshold{{Code: systemstate.ThresholdCPU, Comparison: "above", Threshold: 0.85}}, nil
		},
		Now: func() time.Time { return now },
	}
	router := chi.NewRouter()
	handlers.Routes(router)
	get := func(scope access.Scope) systemstate.State {
		t.Helper()
		staff := &access.Staff{Username: "viewer", Permissions: []string{dashboard.PermissionRead}, Scope: scope}
		recorder := httptest.NewRecorder()
		request := httptest.NewRequest(http.MethodGet, "/dashboard/system", nil)
		router.ServeHTTP(recorder, request.WithContext(access.WithStaff(request.Context(), staff)))
		if recorder.Code != http.StatusOK {
			t.Fatalf("status = %d %s, want 200", recorder.Code, recorder.Body)
		}
		var state systemstate.State
		if err := json.Unmarshal(recorder.Body.Bytes(), &state); err != nil {
			t.Fatal(err)
		}
		return state
	}

	city := get(access.Scope{Level: access.LevelCity})
	if !city.ServersVisible || len(city.Servers) != 1 || city.Servers[0].Host != "edge-host-1" {
		t.Errorf("city servers = %v %+v, want edge-host-1", city.ServersVisible, city.Servers)
	}
	if len(city.Thresholds) != 1 {
		t.Errorf("city thresholds = %+v, want the CPU threshold", city.Thresholds)
	}
	district := get(access.Scope{Level: access.LevelDistrict, DistrictCode: "310104"})
	if district.ServersVisible || district.Servers != nil {
		t.Errorf("district servers = %v %+v, want none", district.ServersVisible, district.Servers)
	}
	if link := linksByCode(district.Links)[linkhealth.LinkStream]; link.Status != systemstate.StatusOK {
		t.Errorf("district stream link = %+v, want ok", link)
	}
}
