package certificates_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	"github.com/sh-preschool/preschool/backoffice/dashboard/certificates"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	"github.com/sh-preschool/preschool/edge/prefill"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

var (
	cityStaff = &access.Staff{ID: 1, Username: "city", Role: "city_admin",
		Permissions: []string{dashboard.PermissionRead}, Scope: access.Scope{Level: access.LevelCity}}
	xuhuiStaff = &access.Staff{ID: 2, Username: "xuhui", Role: "district_admin",
		Permissions: []string{dashboard.PermissionRead}, Scope: access.Scope{Level: access.LevelDistrict, DistrictCode: backofficetest.Xuhui}}
	streetStaff = &access.Staff{ID: 3, Username: "street", Role: "street_admin",
		Permissions: []string{dashboard.PermissionRead}, Scope: access.Scope{Level: access.LevelStreet, StreetCode: "310104003"}}
)

type fixture struct {
	env    *backofficetest.Env
	router func(staff *access.Staff) http.Handler
}

// newFixture seeds a database with generated registrations and
// applications, and serves the panel on it.
func newFixture(t *testing.T, registrations int) *fixture {
	t.Helper()
	env := backofficetest.New(t)
	if _, _, err := dashboardenrolment.Generate(context.Background(), env.DB.DB, env.Year.Year, registrations); err != nil {
		t.Fatalf("generate enrolment: %v", err)
	}
	names := &dashboard.Names{DB: env.DB.DB}
	enrolmentHandlers := &dashboardenrolment.Handlers{Store: &dashboardenrolment.Store{DB: env.DB.DB, Names: names}}
	handlers := &certificates.Handlers{
		Store: &certificates.Store{DB: env.DB.DB}, Enrolment: enrolmentHandlers,
		Calls: &certificates.CallReader{Redis: env.Redis.Client, Keys: env.Keys},
	}
	f := &fixture{env: env}
	f.router = func(staff *access.Staff) http.Handler {
		r := chi.NewRouter()
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, r.WithContext(access.WithStaff(r.Context(), staff)))
			})
		})
		handlers.Routes(r)
		return r
	}
	return f
}

func (f *fixture) get(t *testing.T, staff *access.Staff, path string, wantStatus int) certificates.Panel {
	t.Helper()
	recorder := httptest.NewRecorder()
	f.router(staff).ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, path, nil))
	if recorder.Code != wantStatus {
		t.Fatalf("GET %s as %s = %d %s, want %d", path, staff.Username, recorder.Code, recorder.Body, wantStatus)
	}
	var panel certificates.Panel
	if wantStatus == http.StatusOK {
		if err := json.Unmarshal(recorder.Body.Bytes(), &panel); err != nil {
			t.Fatalf("GET %s: body does not decode: %v", path, err)
		}
	}
	return panel
}

// rawFigures are the stored figures of one district counted from the
// registration and application columns, not from the rollup.
type rawFigures struct {
	Registrations            int64 `db:"registrations"`
	WithFetched              int64 `db:"with_fetched"`
	WithUploaded             int64 `db:"with_uploaded"`
	FetchedCertificates      int64 `db:"fetched_certificates"`
	AttachedCertificates     int64 `db:"attached_certificates"`
	Applications             int64 `db:"applications"`
	ApplicationsWithUploaded int64 `db:"applications_with_uploaded"`
}

func (f *fixture) raw(t *testing.T, district string) rawFigures {
	t.Helper()
	var figures rawFigures
	err := f.env.DB.DB.Get(&figures, `
		SELECT
		  (SELECT count(*) FROM registration WHERE residence_district_code = $1 AND certificates_fetched IS NOT NULL
		     AND certificates_uploaded IS NOT NULL) AS registrations,
		  (SELECT count(*) FROM registration WHERE residence_district_code = $1 AND certificates_fetched <> '{}') AS with_fetched,
		  (SELECT count(*) FROM registration WHERE residence_district_code = $1 AND certificates_uploaded <> '{}') AS with_uploaded,
		  (SELECT COALESCE(sum(array_length(certificates_fetched, 1)), 0) FROM registration
		     WHERE residence_district_code = $1 AND certificates_uploaded IS NOT NULL) AS fetched_certificates,
		  (SELECT COALESCE(sum(COALESCE(array_length(certificates_fetched, 1), 0) + COALESCE(array_length(certificates_uploaded, 1), 0)), 0)
		     FROM registration WHERE residence_district_code = $1 AND certificates_fetched IS NOT NULL) AS attached_certificates,
		  (SELECT count(*) FROM application WHERE district_code = $1 AND certificates_uploaded IS NOT NULL) AS applications,
		  (SELECT count(*) FROM application WHERE district_code = $1 AND certificates_uploaded <> '{}') AS applications_with_uploaded`,
		district)
	if err != nil {
		t.Fatalf("count raw figures of %s: %v", district, err)
	}
	return figures
}

func storedFigures(figures certificates.Figures) rawFigures {
	return rawFigures{
		Registrations: figures.Registrations, WithFetched: figures.WithFetched, WithUploaded: figures.WithUploaded,
		FetchedCertificates: figures.FetchedCertificates, AttachedCertificates: figures.AttachedCertificates,
		Applications: figures.Applications, ApplicationsWithUploaded: figures.ApplicationsWithUploaded,
	}
}

func TestPanelMatchesRawRows(t *testing.T) {
	f := newFixture(t, 5_000)
	db := f.env.DB.DB
	// Records sealed before the sources were stored have NULL columns and
	// count in neither numerator nor denominator.
	if _, err := db.Exec(`UPDATE registration SET certificates_fetched = NULL, certificates_uploaded = NULL
		WHERE CAST(substr(registration_number, 6) AS bigint) % 17 = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := dashboardenrolment.Rebuild(context.Background(), db); err != nil {
		t.Fatal(err)
	}

	panel := f.get(t, cityStaff, "/dashboard/enrolment/certificates", http.StatusOK)

	if len(panel.ByDistrict) != 17 {
		t.Fatalf("%d districts, want the 16 districts and the unknown one", len(panel.ByDistrict))
	}
	var sum rawFigures
	for _, district := range panel.ByDistrict {
		if district.Code == enrol.UnknownDistrict {
			continue
		}
		want := f.raw(t, district.Code)
		if diff := cmp.Diff(want, storedFigures(district.Figures)); diff != "" {
			t.Errorf("%s figures (-raw +panel):\n%s", district.Name, diff)
		}
		if want.Registrations > 0 && district.CallCoverage != float64(want.WithFetched)/float64(want.Registrations) {
			t.Errorf("%s call coverage = %v, want %d ÷ %d", district.Name, district.CallCoverage, want.WithFetched, want.Registrations)
		}
		sum.Registrations += want.Registrations
		sum.FetchedCertificates += want.FetchedCertificates
		sum.AttachedCertificates += want.AttachedCertificates
	}
	if panel.Totals.Registrations != sum.Registrations {
		t.Errorf("total registrations = %d, want %d", panel.Totals.Registrations, sum.Registrations)
	}
	if excluded := f.env.Count(t, `SELECT count(*) FROM registration WHERE certificates_fetched IS NULL`); excluded == 0 ||
		panel.Totals.Registrations+int64(excluded) != 5_000 {
		t.Errorf("total registrations = %d with %d excluded, want 5000 together", panel.Totals.Registrations, excluded)
	}
	if want := float64(sum.FetchedCertificates) / float64(sum.AttachedCertificates); panel.Totals.PrefillRate != want {
		t.Errorf("prefill rate = %v, want %v", panel.Totals.PrefillRate, want)
	}

	byType := map[string]certificates.TypeFigures{}
	for _, figures := range panel.ByType {
		byType[figures.Code] = figures
	}
	for _, certificateType := range []string{"birth_certificate", "household_register", "residence_permit"} {
		fetched := f.env.Count(t, `SELECT count(*) FROM registration WHERE $1 = ANY (certificates_fetched) AND certificates_uploaded IS NOT NULL`, certificateType)
		uploaded := f.env.Count(t, `SELECT count(*) FROM registration WHERE $1 = ANY (certificates_uploaded) AND certificates_fetched IS NOT NULL`, certificateType)
		applications := f.env.Count(t, `SELECT count(*) FROM application WHERE $1 = ANY (certificates_uploaded)`, certificateType)
		got := byType[certificateType]
		if got.Fetched != int64(fetched) || got.Uploaded != int64(uploaded) || got.ApplicationsUploaded != int64(applications) {
			t.Errorf("%s fetched, uploaded, applications = %d, %d, %d, want %d, %d, %d", certificateType,
				got.Fetched, got.Uploaded, got.ApplicationsUploaded, fetched, uploaded, applications)
		}
		if !got.Available {
			t.Errorf("%s is not marked as served by the certificate API", certificateType)
		}
	}
	if panel.Totals.Registrations == 0 || panel.Totals.WithFetched == 0 || panel.Totals.ApplicationsWithUploaded == 0 {
		t.Errorf("totals %+v have no certificates, so the comparison proved nothing", panel.Totals)
	}
}

func TestTriggerMatchesRebuild(t *testing.T) {
	f := newFixture(t, 2_000)
	db := f.env.DB.DB
	type row struct {
		Kind     string `db:"kind"`
		Day      string `db:"day"`
		District string `db:"district_code"`
		Type     string `db:"certificate_type"`
		Source   string `db:"source"`
		Records  int64  `db:"records"`
	}
	read := func() []row {
		var rows []row
		if err := db.Select(&rows, `SELECT kind, CAST(day AS text) AS day, district_code, certificate_type, source,
			sum(records) AS records FROM certificate_rollup GROUP BY 1, 2, 3, 4, 5 HAVING sum(records) <> 0
			ORDER BY 1, 2, 3, 4, 5`); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	rebuilt := read()
	if len(rebuilt) == 0 {
		t.Fatal("the rebuilt certificate rollup is empty")
	}

	// Insert the same rows again in two statements each, so the triggers
	// add them up from an empty rollup.
	_, err := db.Exec(`
		CREATE TEMP TABLE saved_registration AS SELECT * FROM registration;
		CREATE TEMP TABLE saved_application AS SELECT * FROM application;
		DELETE FROM application; DELETE FROM registration; DELETE FROM certificate_rollup;
		INSERT INTO registration SELECT * FROM saved_registration WHERE registration_number < (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY registration_number) FROM saved_registration);
		INSERT INTO registration SELECT * FROM saved_registration WHERE registration_number >= (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY registration_number) FROM saved_registration);
		INSERT INTO application SELECT * FROM saved_application WHERE application_number < (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY application_number) FROM saved_application);
		INSERT INTO application SELECT * FROM saved_application WHERE application_number >= (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY application_number) FROM saved_application);`)
	if err != nil {
		t.Fatalf("insert the rows again: %v", err)
	}
	if diff := cmp.Diff(rebuilt, read()); diff != "" {
		t.Errorf("trigger rollup differs from the rebuilt one (-rebuilt +trigger):\n%s", diff)
	}

	// Returns, a return undone, deletions of applications and of
	// registrations with their applications: the triggers follow, so the
	// rollup still equals a rebuild, which counts live records only.
	_, err = db.Exec(`
		UPDATE application SET status = 'returned' WHERE application_number IN (SELECT application_number FROM application ORDER BY application_number LIMIT 300);
		UPDATE application SET status = 'recorded' WHERE application_number IN (SELECT application_number FROM application WHERE status = 'returned' ORDER BY application_number LIMIT 50);
		UPDATE application SET status = 'deleted' WHERE application_number IN (SELECT application_number FROM application WHERE status <> 'returned' ORDER BY application_number DESC LIMIT 100);
		DELETE FROM application WHERE registration_number IN (SELECT registration_number FROM registration ORDER BY registration_number DESC LIMIT 200);
		DELETE FROM registration WHERE registration_number IN (SELECT registration_number FROM registration ORDER BY registration_number DESC LIMIT 200);`)
	if err != nil {
		t.Fatalf("return and delete records: %v", err)
	}
	// A key whose records add up to zero stays in the trigger's rollup and
	// is absent from a rebuild, so both are read without such keys.
	followed := read()
	if _, err := dashboardenrolment.Rebuild(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(read(), followed); diff != "" {
		t.Errorf("trigger rollup after returns and deletions differs from a rebuild (-rebuilt +trigger):\n%s", diff)
	}
}

func TestPanelCallFigures(t *testing.T) {
	f := newFixture(t, 100)
	counter := &prefill.CallCounter{Redis: f.env.Redis.Client, Keys: f.env.Keys, Timeout: 5 * time.Second}
	owner := func(subject string) []byte { return f.env.Keyring.Index("owner", []byte(subject)) }
	now := time.Now()
	ctx := context.Background()
	calls := []prefill.Call{
		{District: backofficetest.Xuhui, Owner: owner("a"), At: now,
			Outcomes: map[string]string{"birth_certificate": enrol.CallSuccess, "household_register": enrol.CallNotFound}},
		{District: backofficetest.Xuhui, Owner: owner("a"), At: now, Outcomes: map[string]string{"birth_certificate": enrol.CallSuccess}},
		{District: backofficetest.Xuhui, Owner: owner("b"), At: now, Outcomes: map[string]string{"birth_certificate": enrol.CallFailure}},
		{District: backofficetest.Changning, Owner: owner("c"), At: now, Outcomes: map[string]string{"residence_permit": enrol.CallSuccess}},
		{District: enrol.UnknownDistrict, Owner: owner("a"), At: now, Outcomes: map[string]string{"birth_certificate": enrol.CallSuccess}},
		// A call long before the enrolment window is left out.
		{District: backofficetest.Xuhui, Owner: owner("d"), At: now.AddDate(-1, 0, 0), Outcomes: map[string]string{"birth_certificate": enrol.CallSuccess}},
	}
	for _, call := range calls {
		counter.Count(ctx, call)
	}

	city := f.get(t, cityStaff, "/dashboard/enrolment/certificates", http.StatusOK)
	if !city.CallsAvailable {
		t.Fatal("callsAvailable = false")
	}
	if city.Totals.Callers != 3 {
		t.Errorf("callers = %d, want 3 (a, b, c)", city.Totals.Callers)
	}
	if city.Totals.Calls != 6 || city.Totals.SuccessfulCalls != 4 {
		t.Errorf("calls, successful = %d, %d, want 6, 4", city.Totals.Calls, city.Totals.SuccessfulCalls)
	}
	districts := map[string]certificates.DistrictFigures{}
	for _, d := range city.ByDistrict {
		districts[d.Code] = d
	}
	if xuhui := districts[backofficetest.Xuhui]; xuhui.Callers != 2 || xuhui.Calls != 4 || xuhui.SuccessfulCalls != 2 || xuhui.SuccessRate != 0.5 {
		t.Errorf("徐汇 callers, calls, successful, rate = %d, %d, %d, %v, want 2, 4, 2, 0.5",
			xuhui.Callers, xuhui.Calls, xuhui.SuccessfulCalls, xuhui.SuccessRate)
	}
	if unknown := districts[enrol.UnknownDistrict]; unknown.Calls != 1 || unknown.Callers != 1 {
		t.Errorf("unknown district calls, callers = %d, %d, want 1, 1", unknown.Calls, unknown.Callers)
	}
	for _, figures := range city.ByType {
		if figures.Code != "birth_certificate" {
			continue
		}
		if figures.Calls != 4 || figures.Successes != 3 || figures.Failures != 1 || figures.SuccessRate != 0.75 {
			t.Errorf("birth certificate calls = %+v, want 4 calls, 3 successes, 1 failure, rate 0.75", figures)
		}
	}

	xuhui := f.get(t, xuhuiStaff, "/dashboard/enrolment/certificates", http.StatusOK)
	if len(xuhui.ByDistrict) != 1 || xuhui.ByDistrict[0].Code != backofficetest.Xuhui {
		t.Fatalf("徐汇 staff see districts %+v, want 徐汇 alone", xuhui.ByDistrict)
	}
	if xuhui.Totals.Callers != 2 || xuhui.Totals.Calls != 4 {
		t.Errorf("徐汇 staff see callers, calls = %d, %d, want 2, 4", xuhui.Totals.Callers, xuhui.Totals.Calls)
	}
}

func TestPanelScope(t *testing.T) {
	f := newFixture(t, 500)

	xuhui := f.get(t, xuhuiStaff, "/dashboard/enrolment/certificates", http.StatusOK)
	if len(xuhui.ByDistrict) != 1 || xuhui.ByDistrict[0].Code != backofficetest.Xuhui {
		t.Fatalf("徐汇 staff see districts %+v, want 徐汇 alone", xuhui.ByDistrict)
	}
	if want := f.raw(t, backofficetest.Xuhui); xuhui.Totals.Registrations != want.Registrations {
		t.Errorf("徐汇 registrations = %d, want %d", xuhui.Totals.Registrations, want.Registrations)
	}
	f.get(t, xuhuiStaff, "/dashboard/enrolment/certificates?district="+backofficetest.Changning, http.StatusForbidden)
	f.get(t, streetStaff, "/dashboard/enrolment/certificates", http.StatusForbidden)

	city := f.get(t, cityStaff, "/dashboard/enrolment/certificates?district="+backofficetest.Changning, http.StatusOK)
	if len(city.ByDistrict) != 1 || city.ByDistrict[0].Code != backofficetest.Changning {
		t.Errorf("city drill-down to 长宁 lists %+v", city.ByDistrict)
	}
}

func TestPanelRequestedTypes(t *testing.T) {
	f := newFixture(t, 100)
	// 徐汇's form for one household category requests an API type and a
	// type the certificate API does not serve.
	var category string
	if err := f.env.DB.DB.Get(&category, `SELECT category_code FROM entry WHERE district_code = $1 AND enrolment_year = $2
		AND published ORDER BY category_code LIMIT 1`, backofficetest.Xuhui, f.env.Year.Year); err != nil {
		t.Fatal(err)
	}
	body := `{"title": "徐汇报名", "sections": [{"key": "certificates", "certificates": [
		{"code": "household_register", "name": "户口簿", "required": true, "acceptedTypes": ["pdf"], "maxSizeKB": 100, "maxCount": 1},
		{"code": "vaccination_record", "name": "预防接种证", "required": false, "acceptedTypes": ["pdf"], "maxSizeKB": 100, "maxCount": 1}]}]}`
	if _, err := f.env.DB.DB.Exec(`INSERT INTO form_schema (kind, district_code, category_code, version, body)
		VALUES ('application', $1, $2, 1, $3)`, backofficetest.Xuhui, category, body); err != nil {
		t.Fatal(err)
	}

	panel := f.get(t, cityStaff, "/dashboard/enrolment/certificates?district="+backofficetest.Xuhui, http.StatusOK)

	// The city-wide registration form offers five API types to every
	// district; 户口簿 is required by 徐汇's application form.
	want := []certificates.RequestedType{
		{Code: "birth_certificate", Name: "出生医学证明", Available: true},
		{Code: "household_register", Name: "户口簿", Required: true, Available: true},
		{Code: "property_certificate", Name: "不动产权证书", Available: true},
		{Code: "residence_permit", Name: "上海市居住证", Available: true},
		{Code: "tenancy_registration", Name: "租赁登记备案证明", Available: true},
		{Code: "vaccination_record", Name: "预防接种证", Required: false, Available: false},
	}
	if diff := cmp.Diff(want, panel.ByDistrict[0].RequestedTypes); diff != "" {
		t.Errorf("requested types (-want +got):\n%s", diff)
	}
	if panel.ByDistrict[0].AvailableTypes != 5 {
		t.Errorf("available types = %d, want 5", panel.ByDistrict[0].AvailableTypes)
	}
	if len(panel.APITypes) != len(enrol.CertificateAPITypes) {
		t.Errorf("%d API types, want %d", len(panel.APITypes), len(enrol.CertificateAPITypes))
	}
}

func TestPanelUnknownDistrictIsEmpty(t *testing.T) {
	f := newFixture(t, 100)
	counter := &prefill.CallCounter{Redis: f.env.Redis.Client, Keys: f.env.Keys, Timeout: 5 * time.Second}
	counter.Count(context.Background(), prefill.Call{District: backofficetest.Xuhui, Owner: []byte{1}, At: time.Now(),
		Outcomes: map[string]string{"birth_certificate": enrol.CallSuccess}})

	panel := f.get(t, cityStaff, "/dashboard/enrolment/certificates?district=310199", http.StatusOK)

	if len(panel.ByDistrict) != 0 || panel.Totals.Registrations != 0 {
		t.Errorf("district 310199 has figures %+v", panel)
	}
	if !panel.CallsAvailable {
		t.Errorf("callsAvailable = false for a district without counters")
	}
}
