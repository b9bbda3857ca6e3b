package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
)

func TestCacheKeepsAnswersPerScope(t *testing.T) {
	env := backofficetest.New(t)
	calls := 0
	cache := &dashboard.Cache{Redis: env.Redis.Client, Prefix: env.Redis.Prefix, TTL: time.Minute, Versioned: []string{"/dashboard/alerts"}}
	serve := func(staff *access.Staff, path string) *httptest.ResponseRecorder {
		r := chi.NewRouter()
		r.Use(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, r.WithContext(access.WithStaff(r.Context(), staff)))
			})
		}, cache.Middleware)
		r.Get("/*", func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"scope":"` + staff.Scope.Level + `","call":` + strconv.Itoa(calls) + `}`))
		})
		recorder := httptest.NewRecorder()
		r.ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, path, nil))
		return recorder
	}

	first := serve(cityStaff, "/dashboard/enrolment/registration/summary?period=all&district=310104")
	second := serve(cityStaff, "/dashboard/enrolment/registration/summary?district=310104&period=all")
	if got := second.Header().Get("X-Dashboard-Cache"); got != "hit" {
		t.Errorf("second request cache = %q, want hit", got)
	}
	if first.Body.String() != second.Body.String() {
		t.Errorf("cached body = %s, want %s", second.Body, first.Body)
	}
	if calls != 1 {
		t.Errorf("handler ran %d times for two equal requests, want 1", calls)
	}

	other := serve(xuhuiStaff, "/dashboard/enrolment/registration/summary?period=all&district=310104")
	if got := other.Header().Get("X-Dashboard-Cache"); got != "miss" {
		t.Errorf("another scope's request cache = %q, want miss", got)
	}
	export := serve(cityStaff, "/dashboard/enrolment/report.xlsx")
	serve(cityStaff, "/dashboard/enrolment/report.xlsx")
	if got := export.Header().Get("X-Dashboard-Cache"); got != "" {
		t.Errorf("export cache header = %q, want none", got)
	}
	if calls != 4 {
		t.Errorf("handler ran %d times, want 4 (exports are never cached)", calls)
	}
	// A versioned path is cached until Bump retires its responses.
	serve(cityStaff, "/dashboard/alerts")
	if got := serve(cityStaff, "/dashboard/alerts").Header().Get("X-Dashboard-Cache"); got != "hit" {
		t.Errorf("second alert list cache = %q, want hit", got)
	}
	cache.Bump(t.Context(), "/dashboard/alerts")
	if got := serve(cityStaff, "/dashboard/alerts").Header().Get("X-Dashboard-Cache"); got != "miss" {
		t.Errorf("alert list after Bump cache = %q, want miss", got)
	}
	if got := serve(cityStaff, "/dashboard/alerts").Header().Get("X-Dashboard-Cache"); got != "hit" {
		t.Errorf("alert list after the new answer cache = %q, want hit", got)
	}
	if calls != 6 {
		t.Errorf("handler ran %d times, want 6 (an alert list once before and once after Bump)", calls)
	}
	thresholds := serve(cityStaff, "/dashboard/alert-thresholds")
	serve(cityStaff, "/dashboard/alert-thresholds")
	if got := thresholds.Header().Get("X-Dashboard-Cache"); got != "" || calls != 8 {
		t.Errorf("threshold list cache header = %q after %d calls, want none after 8 (thresholds are never cached)", got, calls)
	}
}

func TestCacheSkipsInvalidBodies(t *testing.T) {
	env := backofficetest.New(t)
	cache := &dashboard.Cache{Redis: env.Redis.Client, Prefix: env.Redis.Prefix, TTL: time.Minute}
	for _, body := range []string{"", `{"total":`} {
		calls := 0
		handler := cache.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}))
		path := "/dashboard/enrolment/registration/summary?body=" + strconv.Quote(body)
		for range 2 {
			request := httptest.NewRequest(http.MethodGet, path, nil)
			handler.ServeHTTP(httptest.NewRecorder(), request.WithContext(access.WithStaff(request.Context(), cityStaff)))
		}
		if calls != 2 {
			t.Errorf("body %q: handler ran %d times for two equal requests, want 2 (not cached)", body, calls)
		}
	}
}
