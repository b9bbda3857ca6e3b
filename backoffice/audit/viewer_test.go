package audit_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/xuri/excelize/v2"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/audit/audittest"
	"github.com/sh-preschool/preschool/backoffice/seed"
	"github.com/sh-preschool/preschool/shared/testenv"
)

type viewer struct {
	server  *audittest.Server
	trail   *audit.Trail
	auditor *audittest.Client
	city    *audittest.Client
}

// base is the time of the first sample event, 1 May 2025 09:00 in Shanghai.
var base = time.Date(2025, 5, 1, 1, 0, 0, 0, time.UTC)

// newViewer serves the audit handlers and records four sample events, one
// day apart from base:
//
//	0 张三（zhangsan） dictionary.item.create  dictionary_item 310104 success
//	1 李四（lisi）     dictionary.item.update  dictionary_item 310105 success
//	2 张三（zhangsan） GET /api/v1/org/tree    access                 denied
//	3 王五（Wangwu）   staff.update            staff                  failed
func newViewer(t *testing.T) *viewer {
	t.Helper()
	database := testenv.NewDatabase(t)
	if err := seed.LoadDivisions(context.Background(), database.DB); err != nil {
		t.Fatalf("load divisions: %v", err)
	}
	v := &viewer{}
	v.server = audittest.NewServer(t, database.DB, testenv.NewRedis(t), func(r chi.Router, trail *audit.Trail) {
		v.trail = trail
		handlers := &audit.Handlers{Trail: trail}
		handlers.Routes(r)
	})
	v.auditor = v.server.SignIn(t, "auditor", access.Scope{Level: access.LevelNone})
	v.city = v.server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity})

	samples := []struct {
		staff *access.Staff
		event audit.Event
	}{
		{&access.Staff{ID: 1, Username: "zhangsan", Name: "张三", Role: "city_admin"},
			audit.Event{Action: "dictionary.item.create", Resource: "dictionary_item", ResourceID: "11", DistrictCode: "310104",
				After: map[string]any{"value": "01", "label": "汉族"}, Detail: "ethnicity/01"}},
		{&access.Staff{ID: 2, Username: "lisi", Name: "李四", Role: "district_admin"},
			audit.Event{Action: "dictionary.item.update", Resource: "dictionary_item", ResourceID: "12", DistrictCode: "310105",
				Before: map[string]any{"label": "甲"}, After: map[string]any{"label": "乙"}, Detail: "ethnicity/02"}},
		{&access.Staff{ID: 1, Username: "zhangsan", Name: "张三", Role: "city_admin"},
			audit.Event{Action: "GET /api/v1/org/tree", Resource: "access", Outcome: audit.OutcomeDenied, Detail: "out_of_scope"}},
		{&access.Staff{ID: 3, Username: "wangwu", Name: "Wangwu", Role: "security_admin"},
			audit.Event{Action: "staff.update", Resource: "staff", ResourceID: "9", Outcome: audit.OutcomeFailed,
				Before: map[string]any{"phone": "13800138000"}, Detail: "failed"}},
	}
	for i, sample := range samples {
		at := base.AddDate(0, 0, i)
		recorder := &audit.Trail{DB: database.DB, Now: func() time.Time { return at }}
		if err := recorder.Record(context.Background(), nil, sample.staff, sample.event); err != nil {
			t.Fatalf("record sample %d: %v", i, err)
		}
	}
	return v
}

func (v *viewer) list(t *testing.T, query string) audit.ListBody {
	t.Helper()
	answer := v.auditor.Get(t, "/api/v1/audit-events?"+query)
	answer.Expect(t, http.StatusOK, "")
	var body audit.ListBody
	answer.Decode(t, &body)
	return body
}

func resourceIDs(body audit.ListBody) string {
	var list []string
	for _, item := range body.Items {
		list = append(list, item.Action)
	}
	return strings.Join(list, ",")
}

func TestListEvents(t *testing.T) {
	v := newViewer(t)
	all := v.list(t, "")
	if all.Total != 4 || len(all.Items) != 4 {
		t.Fatalf("total = %d with %d items, want 4", all.Total, len(all.Items))
	}
	if first := all.Items[0]; first.Action != "staff.update" || first.OutcomeLabel != "失败" {
		t.Errorf("first item = %+v, want the newest, staff.update, labelled 失败", first)
	}
	update := all.Items[2]
	if string(update.Before) != `{"label":"甲"}` || string(update.After) != `{"label":"乙"}` {
		t.Errorf("update before %s after %s, want the recorded JSON objects", update.Before, update.After)
	}
	if update.ActorName != "李四（lisi）" || update.DistrictCode != "310105" || update.ActorID == nil || *update.ActorID != 2 {
		t.Errorf("update = %+v, want actor 李四（lisi） 2 in 310105", update)
	}
	if create := all.Items[3]; string(create.Before) != "null" {
		t.Errorf("create before = %s, want null", create.Before)
	}
	if masked := string(all.Items[0].Before); masked != `{"phone":"13*******00"}` {
		t.Errorf("recorded phone = %s, want it masked", masked)
	}

	cases := []struct {
		name, query, want string
	}{
		{"from date", "from=2025-05-02", "staff.update,GET /api/v1/org/tree,dictionary.item.update"},
		{"to date inclusive", "to=2025-05-02", "dictionary.item.update,dictionary.item.create"},
		{"from and to time", "from=" + url.QueryEscape("2025-05-02T09:00") + "&to=" + url.QueryEscape("2025-05-03T09:00:00+08:00"),
			"GET /api/v1/org/tree,dictionary.item.update"},
		{"actor by name", "actor=" + url.QueryEscape("张三"), "GET /api/v1/org/tree,dictionary.item.create"},
		{"actor by username ignoring case", "actor=WANGWU", "staff.update"},
		{"action contains", "action=item", "dictionary.item.update,dictionary.item.create"},
		{"resource", "resource=access", "GET /api/v1/org/tree"},
		{"resource ID", "resourceId=12", "dictionary.item.update"},
		{"resource and ID", "resource=dictionary_item&resourceId=11", "dictionary.item.create"},
		{"resource ID is exact", "resourceId=1", ""},
		{"outcome", "outcome=denied", "GET /api/v1/org/tree"},
		{"district", "district=310104", "dictionary.item.create"},
		{"combined", "actor=" + url.QueryEscape("张三") + "&outcome=success", "dictionary.item.create"},
		{"nothing matches", "actor=" + url.QueryEscape("' OR '1'='1"), ""},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			body := v.list(t, test.query)
			if got := resourceIDs(body); got != test.want {
				t.Errorf("actions = %q, want %q", got, test.want)
			}
		})
	}

	t.Run("pages", func(t *testing.T) {
		first := v.list(t, "size=3&page=1")
		second := v.list(t, "size=3&page=2")
		if first.Total != 4 || len(first.Items) != 3 || len(second.Items) != 1 || second.Items[0].Action != "dictionary.item.create" {
			t.Errorf("pages = %q and %q, want 3 then the oldest", resourceIDs(first), resourceIDs(second))
		}
	})
}

func TestListInvalidFilters(t *testing.T) {
	v := newViewer(t)
	cases := []struct {
		name, query, code string
	}{
		{"from word", "from=yesterday", "invalid_time"},
		{"to month 13", "to=2025-13-01", "invalid_time"},
		{"to before from", "from=2025-05-03&to=2025-05-01", "invalid_time_range"},
		{"unknown outcome", "outcome=ok", "invalid_outcome"},
		{"resource injection", "resource=" + url.QueryEscape("access' OR 1=1"), "invalid_resource"},
		{"district quote", "district=310104%27", "unknown_district"},
		{"actor too long", "actor=" + url.QueryEscape(strings.Repeat("张", 51)), "invalid_actor"},
		{"action invalid UTF-8", "action=%FF", "invalid_action"},
		{"resource ID too long", "resourceId=" + strings.Repeat("1", 101), "invalid_resourceId"},
		{"page zero", "page=0", "invalid_page"},
		{"size too large", "size=101", "invalid_page_size"},
	}
	for _, test := range cases {
		t.Run(test.name, func(t *testing.T) {
			v.auditor.Get(t, "/api/v1/audit-events?"+test.query).Expect(t, http.StatusBadRequest, test.code)
		})
	}
}

func TestAuditPermission(t *testing.T) {
	v := newViewer(t)
	for _, path := range []string{"/api/v1/audit-events", "/api/v1/audit-events/export", "/api/v1/audit-events/verify"} {
		before := v.server.DeniedEvents(t, "no_permission", path)
		v.city.Get(t, path).Expect(t, http.StatusForbidden, "no_permission")
		if after := v.server.DeniedEvents(t, "no_permission", path); after != before+1 {
			t.Errorf("GET %s: denied events = %d after the refusal, want %d", path, after, before+1)
		}
	}
}

func TestVerifyEndpoint(t *testing.T) {
	v := newViewer(t)
	var body audit.VerifyBody
	answer := v.auditor.Get(t, "/api/v1/audit-events/verify")
	answer.Expect(t, http.StatusOK, "")
	answer.Decode(t, &body)
	if !body.Intact || body.Rows != 4 || len(body.Problems) != 0 {
		t.Errorf("intact trail: %+v, want 4 rows and no problem", body)
	}

	var edited int64
	if err := v.server.DB.Get(&edited, `SELECT min(id) FROM audit_event`); err != nil {
		t.Fatal(err)
	}
	tamper(t, v.server.DB, "audit_event_no_update", `UPDATE audit_event SET resource_id = '99' WHERE id = $1`, edited)
	answer = v.auditor.Get(t, "/api/v1/audit-events/verify")
	answer.Expect(t, http.StatusOK, "")
	body = audit.VerifyBody{}
	answer.Decode(t, &body)
	if body.Intact || len(body.Problems) != 1 {
		t.Fatalf("tampered trail: %+v, want one problem", body)
	}
	if problem := body.Problems[0]; problem.ID != edited || problem.ReasonLabel != "记录内容与其哈希值不一致：该记录被修改过" {
		t.Errorf("problem = %+v, want row %d with the Chinese reason", problem, edited)
	}
}

// readSheet returns the rows of the export's sheet.
func readSheet(t *testing.T, data []byte) [][]string {
	t.Helper()
	file, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the export does not open as a workbook: %v", err)
	}
	defer file.Close()
	rows, err := file.GetRows("审计日志")
	if err != nil {
		t.Fatalf("read sheet 审计日志: %v", err)
	}
	return rows
}

func TestExport(t *testing.T) {
	v := newViewer(t)
	answer := v.auditor.Get(t, "/api/v1/audit-events/export?actor="+url.QueryEscape("张三")+"&from=2025-05-01")
	answer.Expect(t, http.StatusOK, "")
	if got := answer.Header.Get("Content-Type"); got != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("Content-Type = %q, want the xlsx type", got)
	}
	if got := answer.Header.Get("Content-Disposition"); !strings.Contains(got, "attachment") || !strings.Contains(got, ".xlsx") {
		t.Errorf("Content-Disposition = %q, want an xlsx attachment", got)
	}
	rows := readSheet(t, answer.Body)
	if len(rows) != 9 {
		t.Fatalf("rows = %d (%v), want 7 head rows and 2 events", len(rows), rows)
	}
	if rows[0][0] != "审计日志导出" || rows[3][0] != "筛选条件" {
		t.Errorf("head = %v, want the title and the filter", rows[:4])
	}
	if filter := rows[3][1]; !strings.Contains(filter, "操作人包含：张三") || !strings.Contains(filter, "起始时间：2025-05-01 00:00:00") {
		t.Errorf("filter row = %q, want the actor and start time", filter)
	}
	if rows[4][1] != "2" {
		t.Errorf("count row = %v, want 2", rows[4])
	}
	if strings.Join(rows[6], ",") != "编号,时间,操作人,角色,IP 地址,操作,对象类型,对象编号,所属区,结果,变更前,变更后,说明" {
		t.Errorf("header row = %v", rows[6])
	}
	if rows[7][5] != "GET /api/v1/org/tree" || rows[7][9] != "拒绝" || rows[7][1] != "2025-05-03 09:00:00" {
		t.Errorf("first event row = %v, want the denied access at 2025-05-03 09:00:00", rows[7])
	}
	if rows[8][11] != `{"label":"汉族","value":"01"}` || rows[8][8] != "310104" {
		t.Errorf("second event row = %v, want the create with its after state", rows[8])
	}

	var exports int
	if err := v.server.DB.Get(&exports, `SELECT count(*) FROM audit_event WHERE action = $1 AND detail LIKE '导出 2 条%'`, audit.ActionExport); err != nil {
		t.Fatal(err)
	}
	if exports != 1 {
		t.Errorf("export events = %d, want 1", exports)
	}

	t.Run("invalid filter", func(t *testing.T) {
		answer := v.auditor.Get(t, "/api/v1/audit-events/export?outcome=maybe")
		answer.Expect(t, http.StatusBadRequest, "invalid_outcome")
		if got := answer.Header.Get("Content-Disposition"); got != "" {
			t.Errorf("an error carries Content-Disposition %q", got)
		}
	})
}

// TestExportLarge exports 100,000 events and logs the heap the process
// used meanwhile; the figure is for reading, not a pass condition.
func TestExportLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("exports 100,000 rows")
	}
	v := newViewer(t)
	const events = 100_000
	_, err := v.server.DB.Exec(`
		INSERT INTO audit_event (at, actor_id, actor_name, actor_role, ip, action, resource, resource_id, district_code,
		                         outcome, before_state, after_state, detail, previous_hash, hash)
		SELECT timestamptz '2025-06-01 00:00:00+08' + g * interval '1 second', 1, '张三（zhangsan）', 'city_admin', '127.0.0.1',
		       'dictionary.item.update', 'dictionary_item', g::text, '310104', 'success',
		       '{"label":"修改前的名称","value":"' || g || '"}', '{"label":"修改后的名称","value":"' || g || '"}',
		       'ethnicity/' || g, '\x', '\x'
		FROM generate_series(1, $1) AS g`, events)
	if err != nil {
		t.Fatalf("insert events: %v", err)
	}

	path := filepath.Join(t.TempDir(), "export.xlsx")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				var stats runtime.MemStats
				runtime.ReadMemStats(&stats)
				if stats.HeapInuse > peak.Load() {
					peak.Store(stats.HeapInuse)
				}
			}
		}
	}()
	started := time.Now()
	status, header := v.auditor.Download(t, "/api/v1/audit-events/export?from=2025-06-01&resource=dictionary_item&actor=zhangsan", out)
	elapsed := time.Since(started)
	close(done)
	<-sampled
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if status != http.StatusOK {
		t.Fatalf("status = %d, want 200", status)
	}
	if got := header.Get("Content-Type"); !strings.Contains(got, "spreadsheetml") {
		t.Errorf("Content-Type = %q, want the xlsx type", got)
	}
	info, err := out.Stat()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exported %d events in %s: %.1f MiB file, heap in use %.1f MiB before, peak %.1f MiB during the export, %.1f MiB allocated in total",
		events, elapsed.Round(time.Millisecond), float64(info.Size())/(1<<20), float64(before.HeapInuse)/(1<<20),
		float64(peak.Load())/(1<<20), float64(after.TotalAlloc-before.TotalAlloc)/(1<<20))

	file, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("the export does not open as a workbook: %v", err)
	}
	defer file.Close()
	rows, err := file.Rows("审计日志")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	count, last := 0, ""
	for rows.Next() {
		count++
		columns, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		if count == 8 && columns[7] != strconv.Itoa(events) {
			t.Errorf("first event row = %v, want the newest event, resource ID %d", columns, events)
		}
		if len(columns) > 7 {
			last = columns[7]
		}
	}
	if count != 7+events {
		t.Errorf("rows = %d, want 7 head rows and %d events", count, events)
	}
	if last != "1" {
		t.Errorf("last row resource ID = %s, want 1, the oldest event", last)
	}
}
