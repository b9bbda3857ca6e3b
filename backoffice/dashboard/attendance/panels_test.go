package attendance_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/audit/audittest"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/dashboard/attendance"
	"github.com/sh-preschool/preschool/backoffice/monitoring"
)

// The generated week ends on Friday 4 December 2026; the panels see it as
// the latest day with data.
var (
	friday = time.Date(2026, time.December, 4, 0, 0, 0, 0, time.UTC)
	monday = "2026-11-30"
)

type fixture struct {
	env          *backofficetest.Env
	db           *sqlx.DB
	server       *audittest.Server
	city         *audittest.Client
	district     *audittest.Client
	street       *audittest.Client
	head         *audittest.Client
	districtCode string
	streetCode   string
	kindergarten int64
}

// newFixture generates a week of raw rows and two more weeks of rollups for
// 12,000 children, and signs in staff of every scope level.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := backofficetest.New(t)
	f := &fixture{env: env, db: env.DB.DB}
	_, err := monitoring.Generate(context.Background(), f.db, monitoring.GenerateOptions{
		Seed: 11, Children: 12_000, End: friday, RawDays: 7, RollupDays: 14,
	})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	// The kindergarten with the most abnormal checks in the week, its
	// street and district.
	err = f.db.QueryRow(`
		SELECT k.id, k.street_code, k.district_code FROM morning_check_abnormal m JOIN kindergarten k ON k.id = m.kindergarten_id
		GROUP BY k.id ORDER BY count(*) DESC, k.id LIMIT 1`).Scan(&f.kindergarten, &f.streetCode, &f.districtCode)
	if err != nil {
		t.Fatalf("pick a kindergarten: %v", err)
	}
	f.server = audittest.NewServer(t, f.db, env.Redis, func(r chi.Router, _ *audit.Trail) {
		attendance.NewHandlers(f.db, func() time.Time { return friday.Add(30 * time.Hour) }).Routes(r)
	})
	f.city = f.server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity})
	f.district = f.server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: f.districtCode})
	f.street = f.server.SignIn(t, "street_officer", access.Scope{Level: access.LevelStreet, StreetCode: f.streetCode})
	f.head = f.server.SignIn(t, "kindergarten_admin", access.Scope{Level: access.LevelKindergarten, KindergartenID: f.kindergarten})
	return f
}

func get[T any](t *testing.T, client *audittest.Client, path string) T {
	t.Helper()
	response := client.Get(t, path)
	if response.Status != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %s", path, response.Status, response.Body)
	}
	var value T
	response.Decode(t, &value)
	return value
}

// rawCounts computes counts straight from attendance_day and
// morning_check_abnormal, with a condition on k (kindergarten) and a
// (attendance_day), grouped by group (or one row when it is "'all'").
type rawRow struct {
	Key        string `db:"key"`
	Expected   int64  `db:"expected"`
	Present    int64  `db:"present"`
	Sick       int64  `db:"sick"`
	Personal   int64  `db:"personal"`
	NotChecked int64  `db:"not_checked"`
	Disease    int64  `db:"disease"`
	Checked    int64  `db:"checked"`
	Normal     int64  `db:"normal"`
	Abnormal   int64  `db:"abnormal"`
	SentHome   int64  `db:"sent_home"`
	Eyes       int64  `db:"eyes"`
}

func rawCounts(t *testing.T, db *sqlx.DB, group, condition string, args ...any) map[string]rawRow {
	t.Helper()
	// A different query from the rollups': CASE sums instead of FILTER, an
	// EXISTS for each detail instead of a join.
	query := `
		SELECT ` + group + ` AS key, count(*) AS expected,
		       sum(CASE a.status WHEN 1 THEN 1 ELSE 0 END) AS present,
		       sum(CASE a.status WHEN 2 THEN 1 ELSE 0 END) AS sick,
		       sum(CASE a.status WHEN 3 THEN 1 ELSE 0 END) AS personal,
		       sum(CASE a.status WHEN 0 THEN 1 ELSE 0 END) AS not_checked,
		       sum(CASE WHEN a.status = 2 AND a.sick_type = 1 THEN 1 ELSE 0 END) AS disease,
		       sum(CASE WHEN a.check_result > 0 THEN 1 ELSE 0 END) AS checked,
		       sum(CASE a.check_result WHEN 1 THEN 1 ELSE 0 END) AS normal,
		       sum(CASE a.check_result WHEN 2 THEN 1 ELSE 0 END) AS abnormal,
		       sum(CASE WHEN EXISTS (SELECT 1 FROM morning_check_abnormal m WHERE m.kindergarten_id = a.kindergarten_id
		                 AND m.day = a.day AND m.child_id = a.child_id AND m.sent_home) THEN 1 ELSE 0 END) AS sent_home,
		       sum(CASE WHEN EXISTS (SELECT 1 FROM morning_check_abnormal m WHERE m.kindergarten_id = a.kindergarten_id
		                 AND m.day = a.day AND m.child_id = a.child_id AND m.reason = 3) THEN 1 ELSE 0 END) AS eyes
		FROM attendance_day a JOIN kindergarten k ON k.id = a.kindergarten_id
		WHERE ` + condition + ` GROUP BY 1`
	var rows []rawRow
	if err := db.Select(&rows, query, args...); err != nil {
		t.Fatalf("raw counts: %v", err)
	}
	result := map[string]rawRow{}
	for _, row := range rows {
		result[row.Key] = row
	}
	return result
}

func countsOf(key string, c attendance.Counts) rawRow {
	return rawRow{Key: key, Expected: c.Expected, Present: c.Present, Sick: c.Sick, Personal: c.Personal, NotChecked: c.NotChecked,
		Disease: c.SickDisease, Checked: c.MorningChecked, Normal: c.MorningNormal, Abnormal: c.MorningAbnormal,
		SentHome: c.AbnormalSentHome, Eyes: c.ReasonEyes}
}

type todayBody struct {
	Node   attendance.Node `json:"node"`
	Totals attendance.Counts
	Units  []attendance.Unit
	Grades []attendance.Unit
}

func TestTodayMatchesRaw(t *testing.T) {
	f := newFixture(t)
	day := friday.Format(time.DateOnly)

	city := get[todayBody](t, f.city, "/api/v1/dashboard/attendance/today")
	if city.Totals.Expected != 12_000 {
		t.Fatalf("city expects %d children on Friday, want all 12000 generated", city.Totals.Expected)
	}
	if diff := cmp.Diff(rawCounts(t, f.db, "'all'", "a.day = $1", day)["all"], countsOf("all", city.Totals)); diff != "" {
		t.Errorf("city totals (-raw +panel):\n%s", diff)
	}
	panelUnits := map[string]rawRow{}
	for _, unit := range city.Units {
		panelUnits[unit.Key] = countsOf(unit.Key, unit.Counts)
		if unit.Name == "" {
			t.Errorf("district %s has no name", unit.Key)
		}
	}
	if diff := cmp.Diff(rawCounts(t, f.db, "k.district_code", "a.day = $1", day), panelUnits); diff != "" {
		t.Errorf("city units (-raw +panel):\n%s", diff)
	}
	if city.Totals.AttendanceRate == nil || math.Abs(*city.Totals.AttendanceRate-float64(city.Totals.Present)/float64(city.Totals.Expected)) > 0.0001 {
		t.Errorf("attendance rate %v, want present / expected = %d / %d", city.Totals.AttendanceRate, city.Totals.Present, city.Totals.Expected)
	}

	district := get[todayBody](t, f.district, "/api/v1/dashboard/attendance/today")
	if district.Node.Level != access.LevelDistrict || district.Node.DistrictCode != f.districtCode {
		t.Errorf("district admin's default node = %+v, want district %s", district.Node, f.districtCode)
	}
	panelUnits = map[string]rawRow{}
	for _, unit := range district.Units {
		panelUnits[unit.Key] = countsOf(unit.Key, unit.Counts)
	}
	if diff := cmp.Diff(rawCounts(t, f.db, "k.street_code", "a.day = $1 AND k.district_code = $2", day, f.districtCode), panelUnits); diff != "" {
		t.Errorf("district's streets (-raw +panel):\n%s", diff)
	}

	street := get[todayBody](t, f.street, "/api/v1/dashboard/attendance/today?street="+f.streetCode)
	panelUnits = map[string]rawRow{}
	for _, unit := range street.Units {
		panelUnits[unit.Key] = countsOf(unit.Key, unit.Counts)
	}
	if diff := cmp.Diff(rawCounts(t, f.db, "k.id::text", "a.day = $1 AND k.street_code = $2", day, f.streetCode), panelUnits); diff != "" {
		t.Errorf("street's kindergartens (-raw +panel):\n%s", diff)
	}

	head := get[todayBody](t, f.head, "/api/v1/dashboard/attendance/today")
	panelGrades := map[string]rawRow{}
	for _, grade := range head.Grades {
		panelGrades[grade.Key] = countsOf(grade.Key, grade.Counts)
	}
	if diff := cmp.Diff(rawCounts(t, f.db, "a.grade::text", "a.day = $1 AND k.id = $2", day, f.kindergarten), panelGrades); diff != "" {
		t.Errorf("kindergarten's grades (-raw +panel):\n%s", diff)
	}
}

func TestRankingMatchesRaw(t *testing.T) {
	f := newFixture(t)
	type body struct {
		Total int
		Items []attendance.RankedUnit
	}
	ranking := get[body](t, f.city, "/api/v1/dashboard/attendance/ranking?by=kindergarten&metric=not_checked&limit=5")
	var kindergartens int
	var highest float64
	err := f.db.QueryRow(`
		SELECT count(*), max(share) FROM (
			SELECT round(avg(CASE a.status WHEN 0 THEN 1.0 ELSE 0 END), 4) AS share
			FROM attendance_day a WHERE a.day = $1 GROUP BY a.kindergarten_id) shares`, friday).Scan(&kindergartens, &highest)
	if err != nil {
		t.Fatal(err)
	}
	if ranking.Total != kindergartens {
		t.Errorf("ranking total %d, want %d kindergartens", ranking.Total, kindergartens)
	}
	if len(ranking.Items) != 5 {
		t.Fatalf("%d items, want 5", len(ranking.Items))
	}
	if ranking.Items[0].Value == nil || *ranking.Items[0].Value != highest {
		t.Errorf("first not-checked share %v, want the highest, %v", ranking.Items[0].Value, highest)
	}
	for i := 1; i < len(ranking.Items); i++ {
		if *ranking.Items[i].Value > *ranking.Items[i-1].Value {
			t.Errorf("item %d ranks above a higher share", i)
		}
	}
}

func TestMorningCheckMatchesRaw(t *testing.T) {
	f := newFixture(t)
	type body struct {
		Totals        attendance.Counts
		Reasons       []attendance.Share
		Kindergartens []attendance.Unit
	}
	panel := get[body](t, f.district, "/api/v1/dashboard/attendance/morning-check")
	raw := rawCounts(t, f.db, "'all'", "a.day = $1 AND k.district_code = $2", friday, f.districtCode)["all"]
	if diff := cmp.Diff(raw, countsOf("all", panel.Totals)); diff != "" {
		t.Errorf("district morning checks (-raw +panel):\n%s", diff)
	}
	if panel.Totals.AbnormalStayed != raw.Abnormal-raw.SentHome {
		t.Errorf("stayed %d, want abnormal - sent home = %d", panel.Totals.AbnormalStayed, raw.Abnormal-raw.SentHome)
	}
	var reasonSum int64
	for _, reason := range panel.Reasons {
		reasonSum += reason.Count
	}
	if reasonSum != raw.Abnormal {
		t.Errorf("reasons add up to %d, want the %d abnormal checks", reasonSum, raw.Abnormal)
	}

	type details struct {
		Items []attendance.AbnormalCheck
	}
	detail := get[details](t, f.head, "/api/v1/dashboard/attendance/morning-check/abnormal?range=week&kindergarten="+fmt.Sprint(f.kindergarten))
	var want int
	if err := f.db.Get(&want, `SELECT count(*) FROM morning_check_abnormal WHERE kindergarten_id = $1`, f.kindergarten); err != nil {
		t.Fatal(err)
	}
	if len(detail.Items) != want || want == 0 {
		t.Errorf("%d abnormal details, want %d (and more than none)", len(detail.Items), want)
	}
}

func TestTrendMatchesRaw(t *testing.T) {
	f := newFixture(t)
	type body struct {
		Periods []string
		Series  []attendance.Series
	}
	trend := get[body](t, f.city, "/api/v1/dashboard/attendance/trend?range=week&by=unit")
	raw := rawCounts(t, f.db, "to_char(a.day, 'YYYY-MM-DD') || '/' || k.district_code", "a.day BETWEEN $1 AND $2", monday, friday)
	got := map[string]rawRow{}
	for _, series := range trend.Series {
		for _, point := range series.Points {
			key := point.Period + "/" + series.Key
			got[key] = countsOf(key, point.Counts)
		}
	}
	if diff := cmp.Diff(raw, got); diff != "" {
		t.Errorf("week per day and district (-raw +panel):\n%s", diff)
	}
	if len(trend.Periods) != 5 {
		t.Errorf("periods %v, want Monday to Friday", trend.Periods)
	}

	// The month trend also covers the two generated weeks before, from
	// rollups only; their figures must line up with the raw week's scale.
	monthly := get[body](t, f.city, "/api/v1/dashboard/attendance/trend?range=custom&from=2026-11-01&to=2026-12-31&granularity=month")
	if len(monthly.Series) != 1 || len(monthly.Series[0].Points) != 2 {
		t.Fatalf("monthly trend %+v, want one series with November and December", monthly)
	}
	december := rawCounts(t, f.db, "'all'", "a.day BETWEEN '2026-12-01' AND $1", friday)["all"]
	if diff := cmp.Diff(december, countsOf("all", monthly.Series[0].Points[1].Counts)); diff != "" {
		t.Errorf("December (-raw +panel):\n%s", diff)
	}
}

func TestLeaveReasonsMatchRaw(t *testing.T) {
	f := newFixture(t)
	type body struct {
		Totals    attendance.Counts
		SickTypes []attendance.Share
	}
	panel := get[body](t, f.street, "/api/v1/dashboard/attendance/leave-reasons?range=custom&from="+monday+"&to=2026-12-04")
	raw := rawCounts(t, f.db, "'all'", "a.day BETWEEN $1 AND $2 AND k.street_code = $3", monday, friday, f.streetCode)["all"]
	if diff := cmp.Diff(raw, countsOf("all", panel.Totals)); diff != "" {
		t.Errorf("street's week (-raw +panel):\n%s", diff)
	}
	if panel.SickTypes[0].Count != raw.Disease {
		t.Errorf("disease sick leave %d, want %d", panel.SickTypes[0].Count, raw.Disease)
	}
}

func TestArrivalsMatchRaw(t *testing.T) {
	f := newFixture(t)
	type body struct {
		Slots  []string
		Series []attendance.SlotSeries
	}
	for name, client := range map[string]*audittest.Client{"district": f.district, "kindergarten": f.head} {
		panel := get[body](t, client, "/api/v1/dashboard/attendance/arrivals?range=week&by=weather")
		condition := "k.district_code = $3"
		arg := any(f.districtCode)
		if name == "kindergarten" {
			condition, arg = "k.id = $3", f.kindergarten
		}
		var raw []struct {
			Key   string `db:"key"`
			Slot  string `db:"slot"`
			Count int64  `db:"count"`
		}
		err := f.db.Select(&raw, `
			SELECT w.condition::text AS key, to_char(make_time(a.arrival_minute / 60, a.arrival_minute % 60 / 10 * 10, 0), 'HH24:MI') AS slot, count(*) AS count
			FROM attendance_day a JOIN kindergarten k ON k.id = a.kindergarten_id
			JOIN weather_day w ON w.day = a.day AND w.district_code = k.district_code
			WHERE a.day BETWEEN $1 AND $2 AND a.arrival_minute >= 0 AND `+condition+` GROUP BY 1, 2`, monday, friday, arg)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{}
		for _, row := range raw {
			want[row.Key+" "+row.Slot] = row.Count
		}
		got := map[string]int64{}
		for _, series := range panel.Series {
			for i, count := range series.Arrivals {
				if count > 0 {
					got[series.Key+" "+panel.Slots[i][:5]] = count
				}
			}
		}
		if len(want) == 0 {
			t.Fatalf("%s: no raw arrivals to compare with", name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: arrivals per weather and slot (-raw +panel):\n%s", name, diff)
		}
	}
}

func TestReportMatchesRawAndExports(t *testing.T) {
	f := newFixture(t)
	type body struct {
		Total int
		Items []attendance.ReportRow
	}
	report := get[body](t, f.district, "/api/v1/dashboard/attendance/report?range=custom&from="+monday+"&to=2026-12-04&granularity=day&by=kindergarten")
	raw := rawCounts(t, f.db, "to_char(a.day, 'YYYY-MM-DD') || '/' || k.id", "a.day BETWEEN $1 AND $2 AND k.district_code = $3", monday, friday, f.districtCode)
	got := map[string]rawRow{}
	for _, item := range report.Items {
		key := item.Period + "/" + item.Key
		got[key] = countsOf(key, item.Counts)
	}
	if len(raw) == 0 || report.Total != len(raw) {
		t.Errorf("report has %d rows, raw data %d, want the same and more than none", report.Total, len(raw))
	}
	if diff := cmp.Diff(raw, got); diff != "" {
		t.Errorf("report per day and kindergarten (-raw +panel):\n%s", diff)
	}

	var workbook countingBuffer
	status, header := f.district.Download(t, "/api/v1/dashboard/attendance/report.xlsx?range=month&granularity=day", &workbook)
	if status != http.StatusOK {
		t.Fatalf("report.xlsx: status %d", status)
	}
	if header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" || workbook.n < 1000 {
		t.Errorf("report.xlsx: %d bytes of %s, want a workbook", workbook.n, header.Get("Content-Type"))
	}
}

type countingBuffer struct{ n int }

func (c *countingBuffer) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

func TestPanelsEnforceScope(t *testing.T) {
	f := newFixture(t)
	var otherDistrict, otherStreet string
	if err := f.db.Get(&otherDistrict, `SELECT code FROM district WHERE code <> $1 ORDER BY code LIMIT 1`, f.districtCode); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Get(&otherStreet, `SELECT code FROM street WHERE district_code = $1 AND code <> $2 ORDER BY code LIMIT 1`, f.districtCode, f.streetCode); err != nil {
		t.Fatal(err)
	}
	for _, test := range []struct {
		name   string
		client *audittest.Client
		query  url.Values
	}{
		{"district admin, city", f.district, url.Values{"district": {otherDistrict}}},
		{"street officer, district", f.street, url.Values{"district": {f.districtCode}}},
		{"street officer, other street", f.street, url.Values{"street": {otherStreet}}},
		{"kindergarten admin, its street", f.head, url.Values{"street": {f.streetCode}}},
	} {
		for _, panel := range []string{"today", "trend", "arrivals", "report", "morning-check"} {
			response := test.client.Get(t, "/api/v1/dashboard/attendance/"+panel+"?"+test.query.Encode())
			if response.Status != http.StatusForbidden {
				t.Errorf("%s, %s: status %d, want 403", test.name, panel, response.Status)
			}
		}
	}
	teacher := f.server.SignIn(t, "teacher", access.Scope{Level: access.LevelKindergarten, KindergartenID: f.kindergarten})
	if response := teacher.Get(t, "/api/v1/dashboard/attendance/today"); response.Status != http.StatusForbidden {
		t.Errorf("teacher without dashboard.read: status %d, want 403", response.Status)
	}
	if response := f.city.Get(t, "/api/v1/dashboard/attendance/today?range=fortnight"); response.Status != http.StatusBadRequest {
		t.Errorf("invalid range: status %d, want 400", response.Status)
	}
}

func TestCacheServesRepeatsAndSeparatesNodes(t *testing.T) {
	f := newFixture(t)
	server := audittest.NewServer(t, f.db, f.env.Redis, func(r chi.Router, _ *audit.Trail) {
		handlers := attendance.NewHandlers(f.db, func() time.Time { return friday.Add(30 * time.Hour) })
		handlers.Cache = &attendance.Cache{Redis: f.env.Redis.Client, Prefix: f.env.Redis.Prefix, TTL: time.Minute}
		handlers.Routes(r)
	})
	city := server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity})
	district := server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: f.districtCode})

	first := get[todayBody](t, city, "/api/v1/dashboard/attendance/today?district="+f.districtCode)
	if _, err := f.db.Exec(`UPDATE attendance_district_day SET present = present + 1000 WHERE day = $1`, friday); err != nil {
		t.Fatal(err)
	}
	again := get[todayBody](t, district, "/api/v1/dashboard/attendance/today")
	if again.Totals.Present != first.Totals.Present {
		t.Errorf("a repeat for the same district got present %d, want the cached %d", again.Totals.Present, first.Totals.Present)
	}
	wholeCity := get[todayBody](t, city, "/api/v1/dashboard/attendance/today")
	raw := rawCounts(t, f.db, "'all'", "a.day = $1", friday)["all"]
	if wholeCity.Totals.Present != raw.Present+int64(countDistrictRows(t, f.db))*1000 {
		t.Errorf("the city, not cached yet, got present %d, want the changed rollup's %d", wholeCity.Totals.Present,
			raw.Present+int64(countDistrictRows(t, f.db))*1000)
	}
}

// countDistrictRows returns the number of district rollup rows on Friday.
func countDistrictRows(t *testing.T, db *sqlx.DB) int {
	t.Helper()
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM attendance_district_day WHERE day = $1`, friday); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestArrivalsWithoutSplitMatchRaw(t *testing.T) {
	f := newFixture(t)
	type body struct {
		Series []attendance.SlotSeries
	}
	panel := get[body](t, f.street, "/api/v1/dashboard/attendance/arrivals?range=week&by=none")
	if len(panel.Series) != 1 {
		t.Fatalf("%d series, want one without a split", len(panel.Series))
	}
	var arrivals, departures int64
	for i := range panel.Series[0].Arrivals {
		arrivals += panel.Series[0].Arrivals[i]
		departures += panel.Series[0].Departures[i]
	}
	var rawArrivals, rawDepartures int64
	err := f.db.QueryRow(`
		SELECT count(*) FILTER (WHERE a.arrival_minute >= 0), count(*) FILTER (WHERE a.departure_minute >= 0)
		FROM attendance_day a JOIN kindergarten k ON k.id = a.kindergarten_id
		WHERE a.day BETWEEN $1 AND $2 AND k.street_code = $3`, monday, friday, f.streetCode).Scan(&rawArrivals, &rawDepartures)
	if err != nil {
		t.Fatal(err)
	}
	if arrivals != rawArrivals || departures != rawDepartures || rawArrivals == 0 {
		t.Errorf("street's week: %d arrivals and %d departures, want %d and %d (and more than none)", arrivals, departures, rawArrivals, rawDepartures)
	}
}

func TestNodeLookupRejectsUnknownAndOutOfScope(t *testing.T) {
	f := newFixture(t)
	var otherKindergarten int64
	if err := f.db.Get(&otherKindergarten, `SELECT id FROM kindergarten WHERE district_code <> $1 ORDER BY id LIMIT 1`, f.districtCode); err != nil {
		t.Fatal(err)
	}
	other := "/api/v1/dashboard/attendance/today?kindergarten=" + strconv.FormatInt(otherKindergarten, 10)
	// The city admin's request puts the kindergarten in the lookup cache,
	// which must not let the district admin past the scope check.
	if response := f.city.Get(t, other); response.Status != http.StatusOK {
		t.Fatalf("city admin, another district's kindergarten: status %d, want 200", response.Status)
	}
	if response := f.district.Get(t, other); response.Status != http.StatusForbidden {
		t.Errorf("district admin, another district's kindergarten: status %d, want 403", response.Status)
	}
	for _, query := range []string{"kindergarten=999999999", "kindergarten=abc", "street=310199999", "district=319999"} {
		if response := f.city.Get(t, "/api/v1/dashboard/attendance/today?"+query); response.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", query, response.Status)
		}
	}
	own := "/api/v1/dashboard/attendance/morning-check/abnormal?range=week&kindergarten=" + strconv.FormatInt(f.kindergarten, 10)
	if response := f.district.Get(t, own); response.Status != http.StatusOK {
		t.Errorf("district admin, own kindergarten's abnormal checks: status %d, want 200", response.Status)
	}
}
