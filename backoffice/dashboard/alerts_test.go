package dashboard_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/dashboard/alerts"
)

// putThreshold sends PUT /dashboard/alert-thresholds/{code} as staff and
// returns the status and the error code of a rejection.
func (f *fixture) putThreshold(t *testing.T, staff *access.Staff, code, body string) (int, string) {
	t.Helper()
	request := httptest.NewRequest(http.MethodPut, "/dashboard/alert-thresholds/"+code, strings.NewReader(body))
	request.Header.Set("Content-Type", "application/json")
	recorder := httptest.NewRecorder()
	f.handlers(staff).ServeHTTP(recorder, request)
	var answer struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(recorder.Body.Bytes(), &answer)
	return recorder.Code, answer.Error.Code
}

func TestAlertThresholdValidation(t *testing.T) {
	f := newFixture(t, 200)
	cases := []struct {
		name       string
		code, body string
		wantStatus int
		wantError  string
	}{
		{"rate as fraction", alerts.GrossEnrolmentRate, `{"threshold": 0.85}`, http.StatusOK, ""},
		{"rate as percent", alerts.GrossEnrolmentRate, `{"threshold": 85}`, http.StatusBadRequest, "threshold_out_of_range"},
		{"rate just above one", alerts.ClassSizeCompliance, `{"threshold": 1.01}`, http.StatusBadRequest, "threshold_out_of_range"},
		{"rate of one", alerts.ApplicationRate, `{"threshold": 1}`, http.StatusOK, ""},
		{"negative rate", alerts.ClassSizeCompliance, `{"threshold": -0.1}`, http.StatusBadRequest, "threshold_out_of_range"},
		{"plan rate above one", alerts.RegistrationPlanRate, `{"threshold": 1.2}`, http.StatusOK, ""},
		{"plan rate as percent", alerts.RegistrationPlanRate, `{"threshold": 120}`, http.StatusBadRequest, "threshold_out_of_range"},
		{"count above 100", alerts.UnresolvedQuestions, `{"threshold": 200}`, http.StatusOK, ""},
		{"count of zero", alerts.UnresolvedQuestions, `{"threshold": 0}`, http.StatusOK, ""},
		{"count with fraction", alerts.UnresolvedQuestions, `{"threshold": 50.5}`, http.StatusBadRequest, "threshold_not_whole_number"},
		{"negative count", alerts.UnresolvedQuestions, `{"threshold": -1}`, http.StatusBadRequest, "threshold_out_of_range"},
		{"count beyond bound", alerts.UnresolvedQuestions, `{"threshold": 100001}`, http.StatusBadRequest, "threshold_out_of_range"},
		{"missing threshold", alerts.UnresolvedQuestions, `{}`, http.StatusBadRequest, "invalid_threshold"},
		{"text threshold", alerts.UnresolvedQuestions, `{"threshold": "50"}`, http.StatusBadRequest, ""},
		{"unknown code", "waiting_list", `{"threshold": 1}`, http.StatusNotFound, "threshold_not_found"},
		{"latency above 100 ms", "server_latency_ms", `{"threshold": 250}`, http.StatusOK, ""},
		{"latency with fraction", "server_latency_ms", `{"threshold": 12.5}`, http.StatusOK, ""},
		{"negative latency", "server_latency_ms", `{"threshold": -1}`, http.StatusBadRequest, "threshold_out_of_range"},
		{"server use as percent", "server_cpu_usage", `{"threshold": 85}`, http.StatusBadRequest, "threshold_out_of_range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, code := f.putThreshold(t, cityStaff, c.code, c.body)
			if status != c.wantStatus {
				t.Errorf("PUT %s %s = %d, want %d", c.code, c.body, status, c.wantStatus)
			}
			if c.wantError != "" && code != c.wantError {
				t.Errorf("PUT %s %s error code = %q, want %q", c.code, c.body, code, c.wantError)
			}
		})
	}

	// The accepted changes stored their values: the last accepted value of
	// each code, and nothing from a rejected request.
	want := map[string]float64{
		alerts.GrossEnrolmentRate: 0.85, alerts.ApplicationRate: 1, alerts.RegistrationPlanRate: 1.2,
		alerts.UnresolvedQuestions: 0, alerts.ClassSizeCompliance: 0.9,
		"server_cpu_usage": 0.85, "server_memory_usage": 0.9, "server_disk_usage": 0.9, "server_latency_ms": 12.5,
	}
	var list struct {
		Items []alerts.Threshold `json:"items"`
	}
	f.get(t, cityStaff, "/dashboard/alert-thresholds", http.StatusOK, &list)
	for _, threshold := range list.Items {
		if threshold.Threshold != want[threshold.Code] {
			t.Errorf("threshold %s = %v, want %v", threshold.Code, threshold.Threshold, want[threshold.Code])
		}
	}
}

func TestAlertThresholdUnitsAndEditors(t *testing.T) {
	f := newFixture(t, 200)
	wantUnits := map[string]string{
		alerts.RegistrationPlanRate: alerts.UnitRate, alerts.ApplicationRate: alerts.UnitRate,
		alerts.ClassSizeCompliance: alerts.UnitRate, alerts.GrossEnrolmentRate: alerts.UnitRate,
		alerts.UnresolvedQuestions: alerts.UnitCount,
		"server_cpu_usage":         alerts.UnitRate, "server_memory_usage": alerts.UnitRate, "server_disk_usage": alerts.UnitRate,
		"server_latency_ms": alerts.UnitMilliseconds,
	}
	thresholds := func() map[string]alerts.Threshold {
		var list struct {
			Items []alerts.Threshold `json:"items"`
		}
		f.get(t, cityStaff, "/dashboard/alert-thresholds", http.StatusOK, &list)
		byCode := map[string]alerts.Threshold{}
		for _, threshold := range list.Items {
			byCode[threshold.Code] = threshold
		}
		return byCode
	}

	before := thresholds()
	if len(before) != len(wantUnits) {
		t.Errorf("%d thresholds, want %d", len(before), len(wantUnits))
	}
	for code, threshold := range before {
		if threshold.Unit != wantUnits[code] {
			t.Errorf("threshold %s unit = %q, want %q", code, threshold.Unit, wantUnits[code])
		}
		if threshold.Max <= 0 || (threshold.Unit == alerts.UnitRate && code != alerts.RegistrationPlanRate && threshold.Max != 1) {
			t.Errorf("threshold %s max = %v", code, threshold.Max)
		}
		if threshold.UpdatedBy != "system" || threshold.UpdatedByName != "系统" {
			t.Errorf("threshold %s editor = %q / %q, want system / 系统", code, threshold.UpdatedBy, threshold.UpdatedByName)
		}
	}

	// An editor without a staff_user row (a development sign-in) keeps the
	// name stored with the change.
	if status, _ := f.putThreshold(t, cityStaff, alerts.UnresolvedQuestions, `{"threshold": 60}`); status != http.StatusOK {
		t.Fatalf("PUT threshold = %d, want 200", status)
	}
	if name := thresholds()[alerts.UnresolvedQuestions].UpdatedByName; name != cityStaff.Name {
		t.Errorf("editor without account shown as %q, want %q", name, cityStaff.Name)
	}

	// An editor with an account is shown by the account's current name.
	// The row is never signed in with, so its password hash is a stand-in.
	if _, err := f.env.DB.DB.Exec(`INSERT INTO staff_user (username, display_name, role_code, scope_level, password_hash, key_id)
		VALUES ($1, '张老师', 'city_admin', 'city', 'pbkdf2-sm3$not-a-hash', $2)`, cityStaff.Username, f.env.Keyring.ActiveKeyID()); err != nil {
		t.Fatalf("insert staff_user: %v", err)
	}
	if name := thresholds()[alerts.UnresolvedQuestions].UpdatedByName; name != "张老师" {
		t.Errorf("editor with account shown as %q, want 张老师", name)
	}
}

func TestUnresolvedQuestionsAlertMatchesPanel(t *testing.T) {
	f := newFixture(t, 200)
	// An unresolved question from long before this enrolment year counts
	// neither on the panel nor in the alert.
	if _, err := f.env.DB.DB.Exec(`INSERT INTO opinion_record (source, external_id, received_at, district_code, problem_type, status)
		VALUES ('helpdesk', 'old-1', '2001-03-01T10:00:00+08:00', $1, 'policy', 'unresolved')`, backofficetest.Xuhui); err != nil {
		t.Fatalf("insert opinion record: %v", err)
	}
	if status, _ := f.putThreshold(t, cityStaff, alerts.UnresolvedQuestions, `{"threshold": 0}`); status != http.StatusOK {
		t.Fatalf("PUT threshold = %d, want 200", status)
	}
	var list struct {
		Items []alerts.Alert `json:"items"`
	}
	f.get(t, cityStaff, "/dashboard/alerts", http.StatusOK, &list)

	counted := 0
	for _, alert := range list.Items {
		if alert.Unit != alerts.UnitRate && alert.Unit != alerts.UnitCount {
			t.Errorf("alert %s of %s has unit %q", alert.Code, alert.District, alert.Unit)
		}
		if alert.Code != alerts.UnresolvedQuestions {
			continue
		}
		counted++
		if alert.Unit != alerts.UnitCount {
			t.Errorf("unresolved-questions alert of %s has unit %q, want count", alert.District, alert.Unit)
		}
		var panel struct {
			UnresolvedQuestions float64 `json:"unresolvedQuestions"`
		}
		f.get(t, cityStaff, "/dashboard/enrolment/opinion?district="+alert.DistrictCode, http.StatusOK, &panel)
		if alert.Value != panel.UnresolvedQuestions {
			t.Errorf("%s: alert counts %v unresolved questions, the panel %v", alert.District, alert.Value, panel.UnresolvedQuestions)
		}
	}
	want := f.env.Count(t, `SELECT count(DISTINCT o.district_code) FROM opinion_record o JOIN enrolment_year y ON y.year = $1
		WHERE o.source = 'helpdesk' AND o.status <> 'resolved'
		  AND o.received_at >= y.registration_opens_at AND o.received_at < y.application_closes_at`, f.year)
	if want == 0 {
		t.Fatal("the generated figures have no unresolved help-desk question in the enrolment year")
	}
	if counted != want {
		t.Errorf("unresolved-questions alerts = %d, want one per district with such questions (%d)", counted, want)
	}
}
