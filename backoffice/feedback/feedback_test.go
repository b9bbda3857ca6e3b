package feedback_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/audit/audittest"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/feedback"
	"github.com/sh-preschool/preschool/shared/crypto"
	shared "github.com/sh-preschool/preschool/shared/feedback"
	"github.com/sh-preschool/preschool/simulators/cryptoservice"
	"github.com/sh-preschool/preschool/simulators/rating"
)

const (
	xuhui     = backofficetest.Xuhui
	changning = backofficetest.Changning
)

func newIntake(env *backofficetest.Env) *feedback.Intake {
	return &feedback.Intake{
		DB: env.DB.DB, Redis: env.Redis.Client, Prefix: env.Redis.Prefix, Consumer: "feedback-test",
		BatchSize: 10, Block: 50 * time.Millisecond, ClaimIdle: time.Minute,
	}
}

// add puts a report on the stream as the edge does and returns its entry ID.
func add(t *testing.T, env *backofficetest.Env, fields ...string) string {
	t.Helper()
	command := env.Redis.Client.B().Xadd().Key(shared.Stream(env.Redis.Prefix)).Id("*").FieldValue()
	for i := 0; i < len(fields); i += 2 {
		command = command.FieldValue(fields[i], fields[i+1])
	}
	id, err := env.Do(command.Build()).ToString()
	if err != nil {
		t.Fatalf("XADD feedback: %v", err)
	}
	return id
}

func report(env *backofficetest.Env, category, body, district, phone string) shared.Entry {
	entry := shared.Entry{
		Category: category, Body: body, Page: "/register", Step: "监护人信息", Trigger: shared.TriggerIdle,
		DistrictCode: district, KeyID: env.Keyring.ActiveKeyID(), SubmittedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
	if phone != "" {
		entry.SealedPhone = env.Keyring.Seal([]byte(phone), shared.ContextPhone)
		entry.PhoneMasked = phone[:3] + "****" + phone[7:]
	}
	return entry
}

func forwarder(env *backofficetest.Env, url string, maxAttempts int) *feedback.Forwarder {
	return feedback.NewForwarder(env.DB.DB, env.Keyring, feedback.ForwarderConfig{
		URL: url, Timeout: 2 * time.Second, Interval: 10 * time.Millisecond, BatchSize: 10,
		Backoff: time.Minute, MaxBackoff: time.Hour, MaxAttempts: maxAttempts, Concurrency: 4,
	})
}

type delivery struct {
	Status   string  `db:"delivery_status"`
	Attempts int     `db:"attempts"`
	Ticket   *string `db:"rating_ticket_id"`
	Error    *string `db:"last_error"`
}

func deliveryOf(t *testing.T, env *backofficetest.Env, entryID string) delivery {
	t.Helper()
	var row delivery
	err := env.DB.DB.Get(&row, `SELECT delivery_status, attempts, rating_ticket_id, last_error FROM service_feedback WHERE stream_entry_id = $1`, entryID)
	if err != nil {
		t.Fatalf("feedback row of %s: %v", entryID, err)
	}
	return row
}

// pendingReports returns how many stream entries the consumer group has
// read but not acknowledged.
func pendingReports(t *testing.T, env *backofficetest.Env) int64 {
	t.Helper()
	pending, err := env.Do(env.Redis.Client.B().Xpending().Key(shared.Stream(env.Redis.Prefix)).Group(shared.ConsumerGroup).Build()).ToArray()
	if err != nil {
		t.Fatal(err)
	}
	count, err := pending[0].AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	return count
}

// makeDue lets the forwarder retry at once instead of after the backoff.
func makeDue(t *testing.T, env *backofficetest.Env) {
	t.Helper()
	if _, err := env.DB.DB.Exec(`UPDATE service_feedback SET next_attempt_at = now() WHERE delivery_status = 'pending'`); err != nil {
		t.Fatal(err)
	}
}

func TestIntakeStoresAndForwards(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	intake := newIntake(env)
	if err := intake.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	withPhone := add(t, env, report(env, "form_unclear", "不知道居住证号码填哪里", xuhui, "13800138000").Fields()...)
	withoutDistrict := add(t, env, report(env, "system_error", "", "", "").Fields()...)
	malformed := add(t, env, "category", "no_such_category", "body", "x")

	handled, err := intake.ReadOnce(ctx, ">")
	if err != nil || handled != 3 {
		t.Fatalf("ReadOnce = %d, %v; want 3 entries handled", handled, err)
	}
	if n := env.Count(t, `SELECT count(*) FROM service_feedback`); n != 2 {
		t.Errorf("stored reports = %d, want 2 (the malformed entry dropped)", n)
	}
	if n := env.Count(t, `SELECT count(*) FROM service_feedback WHERE stream_entry_id = $1`, malformed); n != 0 {
		t.Error("the malformed entry was stored")
	}
	if count := pendingReports(t, env); count != 0 {
		t.Errorf("pending entries after the round = %d, want 0", count)
	}

	// A redelivery of the same entries stores nothing twice.
	add(t, env, "unused", "x")
	if _, err := env.DB.DB.Exec(`DELETE FROM service_feedback WHERE stream_entry_id = $1`, withoutDistrict); err != nil {
		t.Fatal(err)
	}
	if err := redeliver(t, env, intake, withPhone, withoutDistrict); err != nil {
		t.Fatal(err)
	}
	if n := env.Count(t, `SELECT count(*) FROM service_feedback`); n != 2 {
		t.Errorf("stored reports after redelivery = %d, want 2", n)
	}

	simulator := rating.NewServer(rating.Options{})
	server := httptest.NewServer(simulator.Handler())
	defer server.Close()
	forwarded, err := forwarder(env, server.URL, 3).ForwardDue(ctx)
	if err != nil || forwarded != 2 {
		t.Fatalf("ForwardDue = %d, %v; want 2", forwarded, err)
	}
	for _, id := range []string{withPhone, withoutDistrict} {
		row := deliveryOf(t, env, id)
		if row.Status != feedback.StatusDelivered || row.Ticket == nil || row.Attempts != 1 {
			t.Errorf("report %s = %+v, want delivered with a ticket after 1 attempt", id, row)
		}
	}
	ticket := *deliveryOf(t, env, withPhone).Ticket
	answer, err := http.Get(server.URL + "/v1/bad-experience/reports/" + ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer answer.Body.Close()
	var filed rating.Ticket
	if err := json.NewDecoder(answer.Body).Decode(&filed); err != nil {
		t.Fatal(err)
	}
	if filed.Report.Phone != "13800138000" || filed.Report.Content != "不知道居住证号码填哪里" || filed.Report.DistrictCode != xuhui {
		t.Errorf("filed report = %+v, want the phone opened, the text and the district", filed.Report)
	}
	if filed.Report.Matter != feedback.Matter || filed.Report.CategoryName != "表单内容看不懂、不会填" {
		t.Errorf("filed matter %q category %q, want %q and the category's name", filed.Report.Matter, filed.Report.CategoryName, feedback.Matter)
	}
	if again, err := forwarder(env, server.URL, 3).ForwardDue(ctx); err != nil || again != 0 {
		t.Errorf("second ForwardDue = %d, %v; want nothing due", again, err)
	}
}

func TestIntakeDropsPoisonEntries(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	intake := newIntake(env)
	if err := intake.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	// The constraint stands for any value that parses but that PostgreSQL
	// rejects, so the test also covers rejections ParseEntry cannot foresee.
	if _, err := env.DB.DB.Exec(`ALTER TABLE service_feedback ADD CONSTRAINT intakefix_rejected_step CHECK (step <> 'rejected')`); err != nil {
		t.Fatal(err)
	}
	first := add(t, env, report(env, "form_unclear", "第一条", xuhui, "").Fields()...)
	withNUL := report(env, "other", "看不懂\x00", xuhui, "")
	nul := add(t, env, withNUL.Fields()...)
	rejectedReport := report(env, "system_error", "", xuhui, "")
	rejectedReport.Step = "rejected"
	rejected := add(t, env, rejectedReport.Fields()...)
	farFuture := add(t, env, "category", "other", "body", "x", "page", "/", "step", "", "trigger", "idle", "key_id", "k1",
		"submitted_at", "9223372036854775807")
	last := add(t, env, report(env, "certificate", "第二行\n换行", "", "").Fields()...)

	// Read the entries without acknowledging them, as a back office that
	// stopped mid-batch, so the next run starts from its pending entries.
	stream := shared.Stream(env.Redis.Prefix)
	read := env.Redis.Client.B().Xreadgroup().Group(shared.ConsumerGroup, intake.Consumer).Count(10).Streams().Key(stream).Id(">").Build()
	if err := env.Do(read).Error(); err != nil {
		t.Fatal(err)
	}
	handled, err := intake.ReadOnce(ctx, "0")
	if err != nil || handled != 5 {
		t.Fatalf("ReadOnce(0) = %d, %v; want 5 entries handled", handled, err)
	}
	for _, id := range []string{first, last} {
		if n := env.Count(t, `SELECT count(*) FROM service_feedback WHERE stream_entry_id = $1`, id); n != 1 {
			t.Errorf("report %s stored %d times, want once", id, n)
		}
	}
	for _, id := range []string{nul, rejected, farFuture} {
		if n := env.Count(t, `SELECT count(*) FROM service_feedback WHERE stream_entry_id = $1`, id); n != 0 {
			t.Errorf("poison report %s stored", id)
		}
	}
	if count := pendingReports(t, env); count != 0 {
		t.Errorf("pending entries after the round = %d, want 0", count)
	}
	if again, err := intake.ReadOnce(ctx, "0"); err != nil || again != 0 {
		t.Errorf("second ReadOnce(0) = %d, %v; want nothing left pending", again, err)
	}
}

// redeliver makes the intake read the entries again, as after a crash
// before the acknowledgement: it claims them back as pending and reads its
// pending entries.
func redeliver(t *testing.T, env *backofficetest.Env, intake *feedback.Intake, ids ...string) error {
	t.Helper()
	stream := shared.Stream(env.Redis.Prefix)
	// Reading with ">" and not acknowledging leaves the new entry pending;
	// XCLAIM with FORCE puts the acknowledged ones back into the list.
	read := env.Redis.Client.B().Xreadgroup().Group(shared.ConsumerGroup, intake.Consumer).Count(10).Streams().Key(stream).Id(">").Build()
	if err := env.Do(read).Error(); err != nil {
		return err
	}
	claim := env.Redis.Client.B().Xclaim().Key(stream).Group(shared.ConsumerGroup).Consumer(intake.Consumer).MinIdleTime("0").Id(ids...).Force().Build()
	if err := env.Do(claim).Error(); err != nil {
		return err
	}
	_, err := intake.ReadOnce(context.Background(), "0")
	return err
}

func TestForwarderRetriesThenDelivers(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	intake := newIntake(env)
	if err := intake.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	id := add(t, env, report(env, "certificate", "房产证调不出来", changning, "").Fields()...)
	if _, err := intake.ReadOnce(ctx, ">"); err != nil {
		t.Fatal(err)
	}

	simulator := rating.NewServer(rating.Options{})
	var failuresLeft atomic.Int32
	failuresLeft.Store(2)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failuresLeft.Add(-1) >= 0 {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		simulator.Handler().ServeHTTP(w, r)
	}))
	defer server.Close()
	forward := forwarder(env, server.URL, 5)

	for attempt := 1; attempt <= 2; attempt++ {
		if _, err := forward.ForwardDue(ctx); err != nil {
			t.Fatal(err)
		}
		row := deliveryOf(t, env, id)
		if row.Status != feedback.StatusPending || row.Attempts != attempt || row.Error == nil || !strings.Contains(*row.Error, "503") {
			t.Fatalf("after failed attempt %d: %+v, want pending with the 503 recorded", attempt, row)
		}
		if n := env.Count(t, `SELECT count(*) FROM service_feedback WHERE next_attempt_at > now() + interval '30 seconds'`); n != 1 {
			t.Errorf("after failed attempt %d the report is not held back by the backoff", attempt)
		}
		if again, _ := forward.ForwardDue(ctx); again != 0 {
			t.Errorf("report retried before its backoff ended")
		}
		makeDue(t, env)
	}
	if _, err := forward.ForwardDue(ctx); err != nil {
		t.Fatal(err)
	}
	if row := deliveryOf(t, env, id); row.Status != feedback.StatusDelivered || row.Attempts != 3 || row.Ticket == nil {
		t.Errorf("after the third attempt: %+v, want delivered", row)
	}
	if simulator.Received() != 1 {
		t.Errorf("rating system received %d reports, want 1", simulator.Received())
	}
}

func TestForwarderRetriesCryptoOutage(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	backing, err := cryptoservice.GenerateProvider("cloud-master", "cloud-signing")
	if err != nil {
		t.Fatal(err)
	}
	var serviceDown atomic.Bool
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if serviceDown.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		cryptoservice.NewHandler(backing, "feedback-test-key").ServeHTTP(w, r)
	}))
	defer service.Close()
	cloudKeyring := func() *crypto.Keyring {
		t.Helper()
		provider, err := crypto.NewCloudProvider(crypto.CloudConfig{URL: service.URL, APIKey: "feedback-test-key", SealingKeyID: "cloud-master"})
		if err != nil {
			t.Fatal(err)
		}
		keyring, err := env.Keyring.WithDataKeys(ctx, provider, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return keyring
	}

	// The edge seals the phone under its own data key, and the back office
	// has to ask the service to unwrap that key before it can open it.
	entry := report(env, "certificate", "房产证调不出来", changning, "")
	entry.SealedPhone = cloudKeyring().Seal([]byte("13800138000"), shared.ContextPhone)
	entry.PhoneMasked, entry.KeyID = "138****8000", "cloud-master"
	intake := newIntake(env)
	if err := intake.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	id := add(t, env, entry.Fields()...)
	if _, err := intake.ReadOnce(ctx, ">"); err != nil {
		t.Fatal(err)
	}

	ratingServer := httptest.NewServer(rating.NewServer(rating.Options{}).Handler())
	defer ratingServer.Close()
	forward := feedback.NewForwarder(env.DB.DB, cloudKeyring(), feedback.ForwarderConfig{
		URL: ratingServer.URL, Timeout: 2 * time.Second, Interval: 10 * time.Millisecond, BatchSize: 10,
		Backoff: time.Minute, MaxBackoff: time.Hour, MaxAttempts: 5, Concurrency: 4,
	})
	serviceDown.Store(true)
	if _, err := forward.ForwardDue(ctx); err != nil {
		t.Fatal(err)
	}
	row := deliveryOf(t, env, id)
	if row.Status != feedback.StatusPending || row.Attempts != 1 {
		t.Fatalf("after the crypto service failed: %+v, want pending after 1 attempt", row)
	}
	if row.Error == nil || !strings.Contains(*row.Error, "unavailable") {
		t.Errorf("recorded error = %v, want the crypto service outage", row.Error)
	}

	serviceDown.Store(false)
	makeDue(t, env)
	if _, err := forward.ForwardDue(ctx); err != nil {
		t.Fatal(err)
	}
	row = deliveryOf(t, env, id)
	if row.Status != feedback.StatusDelivered || row.Attempts != 2 {
		t.Errorf("after the crypto service came back: %+v, want delivered after 2 attempts", row)
	}

	// A phone that no key opens still fails at once.
	if _, err := env.DB.DB.Exec(`UPDATE service_feedback SET phone = $2, delivery_status = 'pending', attempts = 0,
		next_attempt_at = now() WHERE stream_entry_id = $1`, id, env.Keyring.Seal([]byte("13800138000"), "another.context")); err != nil {
		t.Fatal(err)
	}
	if _, err := forward.ForwardDue(ctx); err != nil {
		t.Fatal(err)
	}
	if row = deliveryOf(t, env, id); row.Status != feedback.StatusFailed || row.Attempts != 1 {
		t.Errorf("phone sealed under another context: %+v, want failed after 1 attempt", row)
	}
}

func TestForwarderGivesUp(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	intake := newIntake(env)
	if err := intake.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	unavailable := add(t, env, report(env, "other", "一直打不开", xuhui, "").Fields()...)
	if _, err := intake.ReadOnce(ctx, ">"); err != nil {
		t.Fatal(err)
	}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	forward := forwarder(env, down.URL, 2)
	for range 2 {
		if _, err := forward.ForwardDue(ctx); err != nil {
			t.Fatal(err)
		}
		makeDue(t, env)
	}
	if row := deliveryOf(t, env, unavailable); row.Status != feedback.StatusFailed || row.Attempts != 2 {
		t.Errorf("after 2 failed attempts of 2: %+v, want failed", row)
	}

	rejected := add(t, env, report(env, "other", "第二条", xuhui, "").Fields()...)
	if _, err := intake.ReadOnce(ctx, ">"); err != nil {
		t.Fatal(err)
	}
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"invalid"}`, http.StatusBadRequest)
	}))
	defer refusing.Close()
	if _, err := forwarder(env, refusing.URL, 5).ForwardDue(ctx); err != nil {
		t.Fatal(err)
	}
	if row := deliveryOf(t, env, rejected); row.Status != feedback.StatusFailed || row.Attempts != 1 {
		t.Errorf("after a 400: %+v, want failed at once", row)
	}
}

func TestListScopesAndCounts(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	intake := newIntake(env)
	if err := intake.EnsureGroup(ctx); err != nil {
		t.Fatal(err)
	}
	add(t, env, report(env, "form_unclear", "徐汇的反映一", xuhui, "13800138000").Fields()...)
	add(t, env, report(env, "form_unclear", "徐汇的反映二", xuhui, "").Fields()...)
	add(t, env, report(env, "certificate", "长宁的反映", changning, "").Fields()...)
	add(t, env, report(env, "system_error", "没有选区的反映", "", "").Fields()...)
	if _, err := intake.ReadOnce(ctx, ">"); err != nil {
		t.Fatal(err)
	}

	districtName := func(code string) (string, bool) {
		name, ok := map[string]string{xuhui: "徐汇区", changning: "长宁区"}[code]
		return name, ok
	}
	server := audittest.NewServer(t, env.DB.DB, env.Redis, func(r chi.Router, trail *audit.Trail) {
		(&feedback.Handlers{DB: env.DB.DB, DistrictName: districtName}).Routes(r)
	})
	xuhuiAdmin := server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: xuhui})
	cityAdmin := server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity})
	street := server.SignIn(t, "street_officer", access.Scope{Level: access.LevelStreet, StreetCode: "310104003"})
	auditor := server.SignIn(t, "auditor", access.Scope{Level: access.LevelCity})

	var list struct {
		Total int             `json:"total"`
		Items []feedback.Item `json:"items"`
	}
	answer := xuhuiAdmin.Get(t, "/api/v1/feedback")
	answer.Expect(t, http.StatusOK, "")
	answer.Decode(t, &list)
	if list.Total != 2 || len(list.Items) != 2 {
		t.Fatalf("徐汇 list = %d items (total %d), want its 2", len(list.Items), list.Total)
	}
	for _, item := range list.Items {
		if item.District != "徐汇区" || !strings.HasPrefix(item.Body, "徐汇") {
			t.Errorf("徐汇 list contains %+v", item)
		}
	}
	if strings.Contains(string(answer.Body), "13800138000") || !strings.Contains(string(answer.Body), "138****8000") {
		t.Errorf("list body shows the phone unmasked or not at all: %s", answer.Body)
	}

	cityAdmin.Get(t, "/api/v1/feedback?size=100").Decode(t, &list)
	if list.Total != 4 {
		t.Errorf("city list total = %d, want 4", list.Total)
	}
	cityAdmin.Get(t, "/api/v1/feedback?category=certificate").Decode(t, &list)
	if list.Total != 1 || list.Items[0].District != "长宁区" || list.Items[0].CategoryName != "证照调取或材料上传失败" {
		t.Errorf("certificate filter = %+v, want the 长宁 report", list.Items)
	}

	var summary feedback.Summary
	cityAdmin.Get(t, "/api/v1/feedback/summary").Decode(t, &summary)
	counts := map[string]int{}
	for _, group := range summary.Categories {
		counts[group.Code] = group.Count
	}
	if summary.Total != 4 || counts["form_unclear"] != 2 || counts["certificate"] != 1 || counts["system_error"] != 1 {
		t.Errorf("city summary = %+v, want 4 by category 2/1/1", summary)
	}
	if len(summary.Districts) != 3 || summary.Districts[0].Name != "徐汇区" || summary.Districts[0].Count != 2 {
		t.Errorf("city districts = %+v, want 徐汇区 2 first, then 长宁区 and 未选择区", summary.Districts)
	}
	if len(summary.Statuses) != 4 || summary.Statuses[0].Code != feedback.StatusPending || summary.Statuses[0].Count != 4 {
		t.Errorf("city statuses = %+v, want 4 pending", summary.Statuses)
	}
	xuhuiAdmin.Get(t, "/api/v1/feedback/summary").Decode(t, &summary)
	if summary.Total != 2 || len(summary.Districts) != 1 {
		t.Errorf("徐汇 summary = %+v, want its 2 reports in one district", summary)
	}

	xuhuiAdmin.Get(t, "/api/v1/feedback?district="+changning).Expect(t, http.StatusForbidden, "out_of_scope")
	xuhuiAdmin.Get(t, "/api/v1/feedback?category=nonsense").Expect(t, http.StatusBadRequest, "invalid_category")
	xuhuiAdmin.Get(t, "/api/v1/feedback?status=lost").Expect(t, http.StatusBadRequest, "invalid_status")
	street.Get(t, "/api/v1/feedback").Decode(t, &list)
	if list.Total != 0 {
		t.Errorf("street officer sees %d reports, want none", list.Total)
	}
	auditor.Get(t, "/api/v1/feedback").Expect(t, http.StatusForbidden, "no_permission")
}

// TestIntakeAfterRedisLostGroup covers a Redis that restarted empty: the
// running intake creates its consumer group again and stores the reports
// sent afterwards.
func TestIntakeAfterRedisLostGroup(t *testing.T) {
	env := backofficetest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	intake := newIntake(env)
	done := make(chan struct{})
	go func() {
		defer close(done)
		intake.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	add(t, env, report(env, "form_unclear", "第一条", xuhui, "").Fields()...)
	env.WaitForRows(t, 30*time.Second, 1, `SELECT count(*) FROM service_feedback`)

	if err := env.Do(env.Redis.Client.B().Del().Key(shared.Stream(env.Redis.Prefix)).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	add(t, env, report(env, "form_unclear", "第二条", xuhui, "").Fields()...)
	env.WaitForRows(t, 30*time.Second, 2, `SELECT count(*) FROM service_feedback`)
}
