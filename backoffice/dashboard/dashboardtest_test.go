package dashboard_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	"github.com/sh-preschool/preschool/backoffice/dashboard/alerts"
	"github.com/sh-preschool/preschool/backoffice/dashboard/development"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	"github.com/sh-preschool/preschool/backoffice/dashboard/figures"
)

// fixture is a seeded database with generated enrolment and census
// figures, and the dashboard handlers on it.
type fixture struct {
	env   *backofficetest.Env
	year  int
	names *dashboard.Names
	// handlers returns a router serving the dashboards as staff.
	handlers func(staff *access.Staff) http.Handler
}

func newFixture(t *testing.T, registrations int) *fixture {
	t.Helper()
	env := backofficetest.New(t)
	ctx := context.Background()
	if _, _, err := dashboardenrolment.Generate(ctx, env.DB.DB, env.Year.Year, registrations); err != nil {
		t.Fatalf("generate enrolment: %v", err)
	}
	if err := figures.Generate(ctx, env.DB.DB, env.Year.Year); err != nil {
		t.Fatalf("generate figures: %v", err)
	}
	f := &fixture{env: env, year: env.Year.Year, names: &dashboard.Names{DB: env.DB.DB}}
	enrolmentStore := &dashboardenrolment.Store{DB: env.DB.DB, Names: f.names}
	developmentStore := &development.Store{DB: env.DB.DB, Names: f.names}
	trail := &audit.Trail{DB: env.DB.DB, Now: time.Now}
	f.handlers = func(staff *access.Staff) http.Handler {
		r := chi.NewRouter()
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, r.WithContext(access.WithStaff(r.Context(), staff)))
			})
		})
		(&dashboardenrolment.Handlers{Store: enrolmentStore, Redis: env.Redis.Client, Keys: env.Keys, Trail: trail}).Routes(r)
		(&development.Handlers{Store: developmentStore, Trail: trail}).Routes(r)
		(&alerts.Handlers{DB: env.DB.DB, Enrolment: enrolmentStore, Development: developmentStore, Trail: trail}).Routes(r)
		return r
	}
	return f
}

var (
	cityStaff = &access.Staff{
		ID: 1, Username: "city", Name: "市级", Role: "city_admin",
		Permissions: []string{dashboard.PermissionRead, dashboard.PermissionWrite}, Scope: access.Scope{Level: access.LevelCity},
	}
	xuhuiStaff = &access.Staff{
		ID: 2, Username: "xuhui", Name: "徐汇", Role: "district_admin",
		Permissions: []string{dashboard.PermissionRead}, Scope: access.Scope{Level: access.LevelDistrict, DistrictCode: backofficetest.Xuhui},
	}
)

// get serves path as staff, checks the status and decodes the body into
// response.
func (f *fixture) get(t *testing.T, staff *access.Staff, path string, wantStatus int, response any) {
	t.Helper()
	recorder := httptest.NewRecorder()
	f.handlers(staff).ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, path, nil))
	if recorder.Code != wantStatus {
		t.Fatalf("GET %s as %s = %d %s, want %d", path, staff.Username, recorder.Code, recorder.Body, wantStatus)
	}
	if response != nil {
		if err := json.Unmarshal(recorder.Body.Bytes(), response); err != nil {
			t.Fatalf("GET %s: body does not decode: %v", path, err)
		}
	}
}

// rawCounts runs a query returning (code, count) rows.
func (f *fixture) rawCounts(t *testing.T, query string, args ...any) map[string]int64 {
	t.Helper()
	var rows []struct {
		Code  string `db:"code"`
		Count int64  `db:"count"`
	}
	if err := f.env.DB.DB.Select(&rows, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	counts := map[string]int64{}
	for _, row := range rows {
		counts[row.Code] = row.Count
	}
	return counts
}

func sameCounts(t *testing.T, figure string, got, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d codes, want %d (got %v, want %v)", figure, len(got), len(want), got, want)
	}
	for code, count := range want {
		if got[code] != count {
			t.Errorf("%s[%s] = %d, want %d", figure, code, got[code], count)
		}
	}
}

// put sends body to path as staff and returns the status.
func (f *fixture) put(t *testing.T, staff *access.Staff, path, body string) int {
	t.Helper()
	request := httptest.NewRequest(http.MethodPut, path, strings.NewReader(body))
	request.Header.Set("Content-Type", "application/json")
	recorder := httptest.NewRecorder()
	f.handlers(staff).ServeHTTP(recorder, request)
	return recorder.Code
}
