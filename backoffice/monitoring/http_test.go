package monitoring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"
	"github.com/xuri/excelize/v2"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/audit/audittest"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/monitoring"
)

type ingestFixture struct {
	env           *backofficetest.Env
	db            *sqlx.DB
	server        *audittest.Server
	kindergarten  monitoring.Kindergarten
	other         monitoring.Kindergarten // in another district
	head          *audittest.Client       // kindergarten admin of kindergarten
	districtAdmin *audittest.Client       // of other's district
	handlers      *monitoring.Handlers
}

func newIngestFixture(t *testing.T) *ingestFixture {
	t.Helper()
	env := backofficetest.New(t)
	f := &ingestFixture{env: env, db: env.DB.DB}
	if err := f.db.Get(&f.kindergarten, `SELECT id, district_code, street_code FROM kindergarten ORDER BY id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Get(&f.other, `SELECT id, district_code, street_code FROM kindergarten WHERE district_code <> $1 ORDER BY id LIMIT 1`, f.kindergarten.DistrictCode); err != nil {
		t.Fatal(err)
	}
	f.server = audittest.NewServer(t, f.db, env.Redis, func(r chi.Router, trail *audit.Trail) {
		f.handlers = &monitoring.Handlers{Store: &monitoring.Store{DB: f.db}, Trail: trail, Now: func() time.Time { return friday.Add(12 * time.Hour) }}
		f.handlers.Routes(r)
	})
	f.head = f.server.SignIn(t, "kindergarten_admin", access.Scope{Level: access.LevelKindergarten, KindergartenID: f.kindergarten.ID})
	f.districtAdmin = f.server.SignIn(t, "district_admin", access.Scope{Level: access.LevelDistrict, DistrictCode: f.other.DistrictCode})
	return f
}

func batch(kindergartenID int64, records ...monitoring.RecordInput) monitoring.BatchRequest {
	return monitoring.BatchRequest{KindergartenID: kindergartenID, Records: records}
}

// weekBatch is three children on Thursday and Friday: present with an
// abnormal check, sick with a disease, on personal leave, and so on.
func weekBatch(kindergartenID int64) monitoring.BatchRequest {
	return batch(kindergartenID,
		monitoring.RecordInput{ChildKey: "c1", Grade: "junior", ClassName: "小一班", Date: "2026-12-03", Status: "present", Arrival: "08:01", Departure: "16:20", MorningCheck: "abnormal", Reason: "temperature", SentHome: true},
		monitoring.RecordInput{ChildKey: "c2", Grade: "junior", ClassName: "小一班", Date: "2026-12-03", Status: "sick_leave", SickType: "disease"},
		monitoring.RecordInput{ChildKey: "c3", Grade: "senior", ClassName: "大一班", Date: "2026-12-03", Status: "personal_leave"},
		monitoring.RecordInput{ChildKey: "c1", Grade: "junior", ClassName: "小一班", Date: "2026-12-04", Status: "present", Arrival: "07:55", Departure: "16:05", MorningCheck: "normal"},
		monitoring.RecordInput{ChildKey: "c2", Grade: "junior", ClassName: "小一班", Date: "2026-12-04", Status: "present", Arrival: "08:12", MorningCheck: "normal"},
		monitoring.RecordInput{ChildKey: "c3", Grade: "senior", ClassName: "大一班", Date: "2026-12-04", Status: "not_checked"},
	)
}

// kindergartenCounts returns expected, present, sick, personal, not
// checked, abnormal and sent home of one kindergarten's grade on a day.
func kindergartenCounts(t *testing.T, db *sqlx.DB, kindergartenID int64, day string, grade int) []int {
	t.Helper()
	counts := make([]int, 7)
	err := db.QueryRow(`
		SELECT expected, present, sick, personal, not_checked, morning_abnormal, abnormal_sent_home
		FROM attendance_kindergarten_day WHERE kindergarten_id = $1 AND day = $2 AND grade = $3`,
		kindergartenID, day, grade).Scan(&counts[0], &counts[1], &counts[2], &counts[3], &counts[4], &counts[5], &counts[6])
	if err != nil {
		t.Fatalf("rollup of kindergarten %d on %s grade %d: %v", kindergartenID, day, grade, err)
	}
	return counts
}

func districtMatchesKindergartens(t *testing.T, db *sqlx.DB) {
	t.Helper()
	var mismatches int
	err := db.Get(&mismatches, `
		SELECT count(*) FROM attendance_district_day d
		FULL JOIN (SELECT day, district_code, grade, sum(expected) AS expected, sum(present) AS present, sum(sick) AS sick,
		                  sum(morning_abnormal) AS abnormal
		           FROM attendance_kindergarten_day GROUP BY day, district_code, grade) k
		  USING (day, district_code, grade)
		WHERE (d.expected, d.present, d.sick, d.morning_abnormal) IS DISTINCT FROM (k.expected, k.present, k.sick, k.abnormal)
		  AND COALESCE(d.expected, 0) + COALESCE(k.expected, 0) > 0`)
	if err != nil {
		t.Fatal(err)
	}
	if mismatches != 0 {
		t.Errorf("%d district rollup rows differ from the sum of their kindergarten rows", mismatches)
	}
}

func TestIngestStoresBatchAndRollups(t *testing.T) {
	f := newIngestFixture(t)
	response := f.head.Send(t, http.MethodPost, "/api/v1/monitoring/attendance", weekBatch(f.kindergarten.ID))
	if response.Status != http.StatusOK {
		t.Fatalf("POST batch: status %d, body %s", response.Status, response.Body)
	}
	var result monitoring.IngestResult
	if err := json.Unmarshal(response.Body, &result); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(monitoring.IngestResult{Records: 6, NewChildren: 3, Days: 2, AbnormalChecks: 1}, result); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}

	if got := kindergartenCounts(t, f.db, f.kindergarten.ID, "2026-12-03", monitoring.GradeJunior); !cmp.Equal(got, []int{2, 1, 1, 0, 0, 1, 1}) {
		t.Errorf("Thursday 小班 counts = %v, want [2 1 1 0 0 1 1]", got)
	}
	if got := kindergartenCounts(t, f.db, f.kindergarten.ID, "2026-12-04", monitoring.GradeSenior); !cmp.Equal(got, []int{1, 0, 0, 0, 1, 0, 0}) {
		t.Errorf("Friday 大班 counts = %v, want [1 0 0 0 1 0 0]", got)
	}
	districtMatchesKindergartens(t, f.db)

	var slots []string
	if err := f.db.Select(&slots, `SELECT slot || ':' || arrivals || '/' || departures FROM arrival_district_slot
		WHERE day = '2026-12-04' AND district_code = $1 ORDER BY slot`, f.kindergarten.DistrictCode); err != nil {
		t.Fatal(err)
	}
	// c1 arrives 07:55 (slot 47) and leaves 16:05 (slot 96), c2 arrives
	// 08:12 (slot 49) and has no departure time.
	if diff := cmp.Diff([]string{"47:1/0", "49:1/0", "96:0/1"}, slots); diff != "" {
		t.Errorf("Friday slots as slot:arrivals/departures (-want +got):\n%s", diff)
	}

	var audited int
	if err := f.db.Get(&audited, `SELECT count(*) FROM audit_event WHERE action = 'attendance.ingest' AND resource_id = $1`, strconv.FormatInt(f.kindergarten.ID, 10)); err != nil {
		t.Fatal(err)
	}
	if audited != 1 {
		t.Errorf("%d audit events for the batch, want 1", audited)
	}
}

func TestIngestIsIdempotentAndCorrects(t *testing.T) {
	f := newIngestFixture(t)
	for range 2 {
		if response := f.head.Send(t, http.MethodPost, "/api/v1/monitoring/attendance", weekBatch(f.kindergarten.ID)); response.Status != http.StatusOK {
			t.Fatalf("POST batch: status %d, body %s", response.Status, response.Body)
		}
	}
	if got := kindergartenCounts(t, f.db, f.kindergarten.ID, "2026-12-03", monitoring.GradeJunior); !cmp.Equal(got, []int{2, 1, 1, 0, 0, 1, 1}) {
		t.Errorf("Thursday 小班 counts after sending twice = %v, want [2 1 1 0 0 1 1]", got)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM attendance_day`); n != 6 {
		t.Errorf("%d raw rows after sending twice, want 6", n)
	}

	correction := batch(f.kindergarten.ID,
		monitoring.RecordInput{ChildKey: "c1", Grade: "junior", Date: "2026-12-03", Status: "sick_leave", SickType: "symptom"})
	if response := f.head.Send(t, http.MethodPost, "/api/v1/monitoring/attendance", correction); response.Status != http.StatusOK {
		t.Fatalf("POST correction: status %d, body %s", response.Status, response.Body)
	}
	if got := kindergartenCounts(t, f.db, f.kindergarten.ID, "2026-12-03", monitoring.GradeJunior); !cmp.Equal(got, []int{2, 0, 2, 0, 0, 0, 0}) {
		t.Errorf("Thursday 小班 counts after the correction = %v, want [2 0 2 0 0 0 0]", got)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM morning_check_abnormal`); n != 0 {
		t.Errorf("%d morning-check details after the abnormal check was corrected away, want 0", n)
	}
	districtMatchesKindergartens(t, f.db)
}

func TestIngestRejectsOutOfScope(t *testing.T) {
	f := newIngestFixture(t)
	for name, test := range map[string]struct {
		client *audittest.Client
		body   monitoring.BatchRequest
	}{
		"kindergarten admin, other kindergarten": {f.head, weekBatch(f.other.ID)},
		"district admin, other district":         {f.districtAdmin, weekBatch(f.kindergarten.ID)},
	} {
		response := test.client.Send(t, http.MethodPost, "/api/v1/monitoring/attendance", test.body)
		if response.Status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403; body %s", name, response.Status, response.Body)
		}
	}
	if response := f.districtAdmin.Send(t, http.MethodPost, "/api/v1/monitoring/attendance", weekBatch(f.other.ID)); response.Status != http.StatusOK {
		t.Errorf("district admin, own district: status %d, want 200; body %s", response.Status, response.Body)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM attendance_day WHERE kindergarten_id = $1`, f.kindergarten.ID); n != 0 {
		t.Errorf("%d rows stored for the kindergarten out of scope, want 0", n)
	}
}

func TestIngestRejectsInvalidRecords(t *testing.T) {
	f := newIngestFixture(t)
	body := batch(f.kindergarten.ID,
		monitoring.RecordInput{ChildKey: "c1", Grade: "junior", Date: "2026-12-03", Status: "present"},
		monitoring.RecordInput{ChildKey: "c2", Grade: "junior", Date: "2026-12-03", Status: "sick_leave"},
		monitoring.RecordInput{ChildKey: "c3", Grade: "大班", Date: "2026-12-03", Status: "present"},
		monitoring.RecordInput{ChildKey: "c4", Grade: "junior", Date: "2026-12-05", Status: "present"},
		monitoring.RecordInput{ChildKey: "c1", Grade: "junior", Date: "2026-12-03", Status: "present"},
		monitoring.RecordInput{ChildKey: "c5", Grade: "junior", Date: "2026-12-03", Status: "present", MorningCheck: "abnormal"},
		monitoring.RecordInput{ChildKey: "c6", Grade: "junior", Date: "2026-12-03", Status: "present", Arrival: "9:5"},
	)
	response := f.head.Send(t, http.MethodPost, "/api/v1/monitoring/attendance", body)
	if response.Status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422; body %s", response.Status, response.Body)
	}
	var answer struct {
		Errors []monitoring.RecordError `json:"errors"`
	}
	if err := json.Unmarshal(response.Body, &answer); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, problem := range answer.Errors {
		got = append(got, strconv.Itoa(problem.Row)+":"+problem.Field)
	}
	want := []string{"1:sickType", "2:grade", "3:date", "4:childKey", "5:reason", "6:arrival"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if n := f.env.Count(t, `SELECT count(*) FROM attendance_day`); n != 0 {
		t.Errorf("%d rows stored from a rejected batch, want 0", n)
	}
}

func TestSystemIngestWithAPIKey(t *testing.T) {
	f := newIngestFixture(t)
	key, err := monitoring.CreateAPIKey(context.Background(), f.db, f.kindergarten.ID, "园所考勤系统")
	if err != nil {
		t.Fatal(err)
	}
	router := chi.NewRouter()
	router.Route("/api/v1", f.handlers.SystemRoutes)
	server := httptest.NewServer(router)
	defer server.Close()

	post := func(key string, body monitoring.BatchRequest) int {
		data, _ := json.Marshal(body)
		request, _ := http.NewRequest(http.MethodPost, server.URL+"/api/v1/monitoring/system/attendance", bytes.NewReader(data))
		request.Header.Set("Content-Type", "application/json")
		request.Header.Set(monitoring.APIKeyHeader, key)
		response, err := http.DefaultClient.Do(request)
		if err != nil {
			t.Fatal(err)
		}
		response.Body.Close()
		return response.StatusCode
	}
	if status := post(key, weekBatch(f.kindergarten.ID)); status != http.StatusOK {
		t.Errorf("own kindergarten: status %d, want 200", status)
	}
	if status := post(key, weekBatch(f.other.ID)); status != http.StatusForbidden {
		t.Errorf("other kindergarten: status %d, want 403", status)
	}
	if status := post("pskm_wrong", weekBatch(f.kindergarten.ID)); status != http.StatusUnauthorized {
		t.Errorf("wrong key: status %d, want 401", status)
	}
	var actor string
	if err := f.db.Get(&actor, `SELECT actor_name FROM audit_event WHERE action = 'attendance.ingest'`); err != nil {
		t.Fatal(err)
	}
	if actor != "园所系统：园所考勤系统（api-key-1）" {
		t.Errorf("audited actor %q, want the key's name", actor)
	}
}

func TestImportReportsRowErrors(t *testing.T) {
	f := newIngestFixture(t)
	csv := "\ufeff幼儿标识,年级,班级,日期,考勤状态,病假类型,来园时间,离园时间,晨检结果,异常原因,是否返家\n" +
		"k1,小班,小一班,2026-12-04,出勤,,08:00,16:30,正常,,\n" +
		"k2,小班,小一班,2026-12-04,病假,,,,,,\n" +
		"k3,中班,中二班,2026-12-04,病假,症状类,,,,,\n" +
		"\n" +
		"k4,大班,大一班,2026-12-04,出勤,,08:20,,异常,眼部异常,是\n" +
		"k5,大班,大一班,2026-12-04,出勤,,08:20,,异常,眼部异常,也许\n"
	var body bytes.Buffer
	writer := multipart.NewWriter(&body)
	writer.WriteField("kindergartenId", strconv.FormatInt(f.kindergarten.ID, 10))
	part, _ := writer.CreateFormFile("file", "考勤.csv")
	part.Write([]byte(csv))
	writer.Close()

	response := f.head.SendRaw(t, http.MethodPost, "/api/v1/monitoring/attendance/import", writer.FormDataContentType(), body.Bytes())
	if response.Status != http.StatusOK {
		t.Fatalf("import: status %d, body %s", response.Status, response.Body)
	}
	var answer struct {
		Imported int                      `json:"imported"`
		Rejected int                      `json:"rejected"`
		Errors   []monitoring.RecordError `json:"errors"`
	}
	if err := json.Unmarshal(response.Body, &answer); err != nil {
		t.Fatal(err)
	}
	if answer.Imported != 3 || answer.Rejected != 2 {
		t.Errorf("imported %d, rejected %d, want 3 and 2", answer.Imported, answer.Rejected)
	}
	var lines []string
	for _, problem := range answer.Errors {
		lines = append(lines, strconv.Itoa(problem.Row)+":"+problem.Field)
	}
	if diff := cmp.Diff([]string{"3:sickType", "7:sentHome"}, lines); diff != "" {
		t.Errorf("error lines (-want +got):\n%s", diff)
	}
	if got := kindergartenCounts(t, f.db, f.kindergarten.ID, "2026-12-04", monitoring.GradeSenior); !cmp.Equal(got, []int{1, 1, 0, 0, 0, 1, 1}) {
		t.Errorf("大班 counts = %v, want [1 1 0 0 0 1 1]", got)
	}
}

// TestIngestOnGeneratedData checks that the rollups ingest keeps current
// equal those a rebuild computes, after batches change generated days.
func TestIngestOnGeneratedData(t *testing.T) {
	f := newIngestFixture(t)
	generate(t, f.db, 3, 0)
	var keys []string
	if err := f.db.Select(&keys, `SELECT child_key FROM monitoring_child WHERE kindergarten_id = $1 ORDER BY id LIMIT 40`, f.kindergarten.ID); err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatalf("kindergarten %d has no generated children", f.kindergarten.ID)
	}
	var records []monitoring.RecordInput
	for i, key := range keys {
		record := monitoring.RecordInput{ChildKey: key, Grade: "middle", Date: "2026-12-04", Status: "present", Arrival: "08:3" + strconv.Itoa(i%10), MorningCheck: "normal"}
		if i%4 == 0 {
			record = monitoring.RecordInput{ChildKey: key, Grade: "middle", Date: "2026-12-03", Status: "sick_leave", SickType: "other"}
		}
		records = append(records, record)
	}
	records = append(records, monitoring.RecordInput{ChildKey: "new-child", Grade: "nursery", Date: "2026-12-04", Status: "present", MorningCheck: "abnormal", Reason: "skin_face"})
	if response := f.head.Send(t, http.MethodPost, "/api/v1/monitoring/attendance", batch(f.kindergarten.ID, records...)); response.Status != http.StatusOK {
		t.Fatalf("POST batch: status %d, body %s", response.Status, response.Body)
	}

	kept := rollupRows(t, f.db)
	if _, err := monitoring.Rebuild(context.Background(), f.db, friday.AddDate(0, 0, -6), friday); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kept, rollupRows(t, f.db)); diff != "" {
		t.Errorf("rollups kept by ingest differ from rebuilt ones (-ingest +rebuilt):\n%s", diff)
	}
}

func TestWeatherIngestIsScoped(t *testing.T) {
	f := newIngestFixture(t)
	city := f.server.SignIn(t, "city_admin", access.Scope{Level: access.LevelCity})
	body := map[string]any{"records": []monitoring.WeatherInput{
		{Date: "2026-12-04", DistrictCode: f.other.DistrictCode, Condition: "rain", TemperatureHigh: 9, TemperatureLow: 4, PrecipitationMM: 12},
	}}
	if response := city.Send(t, http.MethodPost, "/api/v1/monitoring/weather", body); response.Status != http.StatusOK {
		t.Fatalf("city admin: status %d, body %s", response.Status, response.Body)
	}
	var condition int
	if err := f.db.Get(&condition, `SELECT condition FROM weather_day WHERE day = '2026-12-04' AND district_code = $1`, f.other.DistrictCode); err != nil {
		t.Fatal(err)
	}
	if condition != monitoring.WeatherRain {
		t.Errorf("stored condition %d, want rain (%d)", condition, monitoring.WeatherRain)
	}

	outside := map[string]any{"records": []monitoring.WeatherInput{
		{Date: "2026-12-04", DistrictCode: f.kindergarten.DistrictCode, Condition: "sunny", TemperatureHigh: 9, TemperatureLow: 4},
	}}
	if response := f.districtAdmin.Send(t, http.MethodPost, "/api/v1/monitoring/weather", outside); response.Status != http.StatusForbidden {
		t.Errorf("district admin, other district: status %d, want 403", response.Status)
	}
	invalid := map[string]any{"records": []monitoring.WeatherInput{
		{Date: "2026-12-04", DistrictCode: f.other.DistrictCode, Condition: "hail", TemperatureHigh: 9, TemperatureLow: 4},
	}}
	if response := f.districtAdmin.Send(t, http.MethodPost, "/api/v1/monitoring/weather", invalid); response.Status != http.StatusUnprocessableEntity {
		t.Errorf("invalid condition: status %d, want 422", response.Status)
	}
}

func TestImportWorkbookReportsSheetRows(t *testing.T) {
	f := newIngestFixture(t)
	workbook := excelize.NewFile()
	rows := [][]any{
		{"childKey", "grade", "date", "status", "sickType"},
		{"x1", "junior", "2026-12-04", "present"},
		{"x2", "junior", "2026-12-04", "sick_leave"},
		nil,
		{"x3", "senior", "2026-12-04", "personal_leave"},
		{"x4", "senior", "2026-12-31", "present"},
	}
	for i, row := range rows {
		if row == nil {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := workbook.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var file bytes.Buffer
	if err := workbook.Write(&file); err != nil {
		t.Fatal(err)
	}

	var body bytes.Buffer
	writer := multipart.NewWriter(&body)
	writer.WriteField("kindergartenId", strconv.FormatInt(f.kindergarten.ID, 10))
	part, _ := writer.CreateFormFile("file", "考勤.xlsx")
	part.Write(file.Bytes())
	writer.Close()
	response := f.head.SendRaw(t, http.MethodPost, "/api/v1/monitoring/attendance/import", writer.FormDataContentType(), body.Bytes())
	if response.Status != http.StatusOK {
		t.Fatalf("import: status %d, body %s", response.Status, response.Body)
	}
	var answer struct {
		Imported int                      `json:"imported"`
		Errors   []monitoring.RecordError `json:"errors"`
	}
	if err := json.Unmarshal(response.Body, &answer); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, problem := range answer.Errors {
		lines = append(lines, strconv.Itoa(problem.Row)+":"+problem.Field)
	}
	// Row 4 of the sheet is empty, so the invalid rows are 3 and 6.
	if diff := cmp.Diff([]string{"3:sickType", "6:date"}, lines); diff != "" {
		t.Errorf("error rows (-want +got):\n%s", diff)
	}
	if answer.Imported != 2 {
		t.Errorf("imported %d rows, want 2", answer.Imported)
	}
}

// TestConcurrentIngestKeepsDistrictRollups sends batches of several
// kindergartens of one district at the same time, some of them for the
// same kindergarten, and checks the district rollups against a rebuild.
func TestConcurrentIngestKeepsDistrictRollups(t *testing.T) {
	f := newIngestFixture(t)
	var kindergartens []int64
	if err := f.db.Select(&kindergartens, `SELECT id FROM kindergarten WHERE district_code = $1 ORDER BY id LIMIT 4`, f.kindergarten.DistrictCode); err != nil {
		t.Fatal(err)
	}
	if len(kindergartens) < 2 {
		t.Skipf("district %s has %d kindergartens, fewer than two", f.kindergarten.DistrictCode, len(kindergartens))
	}
	store := &monitoring.Store{DB: f.db}
	statuses := []string{"present", "personal_leave", "not_checked"}
	errs := make(chan error, 16)
	var wait sync.WaitGroup
	for worker := range 16 {
		wait.Add(1)
		go func() {
			defer wait.Done()
			var inputs []monitoring.RecordInput
			for child := range 30 {
				inputs = append(inputs, monitoring.RecordInput{
					ChildKey: "k" + strconv.Itoa(child), Grade: "middle", Date: "2026-12-04", Status: statuses[(child+worker)%3],
				})
			}
			records, problems := monitoring.ParseBatch(inputs, friday, nil)
			if len(problems) > 0 {
				errs <- fmt.Errorf("invalid records: %v", problems)
				return
			}
			_, err := store.Ingest(context.Background(), kindergartens[worker%len(kindergartens)], records, nil)
			errs <- err
		}()
	}
	wait.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Ingest: %v", err)
		}
	}

	districtMatchesKindergartens(t, f.db)
	kept := rollupRows(t, f.db)
	if _, err := monitoring.Rebuild(context.Background(), f.db, friday, friday); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kept, rollupRows(t, f.db)); diff != "" {
		t.Errorf("rollups after concurrent batches differ from rebuilt ones (-ingest +rebuilt):\n%s", diff)
	}
}
