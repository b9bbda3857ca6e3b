package dashboard_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

type summaryAnswer struct {
	Total  int64 `json:"total"`
	Base   int64 `json:"base"`
	ByArea []struct {
		Code  string `json:"code"`
		Name  string `json:"name"`
		Count int64  `json:"count"`
		Base  int64  `json:"base"`
	} `json:"byArea"`
	ByCategory []struct {
		Code  string `json:"code"`
		Count int64  `json:"count"`
	} `json:"byCategory"`
	Supplementary int64 `json:"supplementary"`
}

func (s summaryAnswer) areas() map[string]int64 {
	counts := map[string]int64{}
	for _, a := range s.ByArea {
		counts[a.Code] = a.Count
	}
	return counts
}

func TestEnrolmentPanelsMatchRawRows(t *testing.T) {
	f := newFixture(t, 20_000)
	year := f.year

	t.Run("registrations by district", func(t *testing.T) {
		var answer summaryAnswer
		f.get(t, cityStaff, "/dashboard/enrolment/registration/summary", http.StatusOK, &answer)
		want := f.rawCounts(t, `SELECT residence_district_code AS code, count(*) AS count FROM registration
			WHERE enrolment_year = $1 GROUP BY 1`, year)
		sameCounts(t, "registrations by district", answer.areas(), want)
		if answer.Total != 20_000 {
			t.Errorf("total = %d, want 20000", answer.Total)
		}
		categories := map[string]int64{}
		for _, c := range answer.ByCategory {
			categories[c.Code] = c.Count
		}
		sameCounts(t, "registrations by category group", categories, f.rawCounts(t, `SELECT category_group AS code,
			count(*) AS count FROM registration WHERE enrolment_year = $1 GROUP BY 1`, year))
		if supplementary := f.env.Count(t, `SELECT count(*) FROM registration WHERE supplementary`); answer.Supplementary != int64(supplementary) {
			t.Errorf("supplementary = %d, want %d", answer.Supplementary, supplementary)
		}
		plan := f.env.Count(t, `SELECT COALESCE(sum(seats), 0) FROM seat_plan WHERE enrolment_year = $1 AND grade IN ('junior', 'mixed')`, year)
		if answer.Base != int64(plan) {
			t.Errorf("plan = %d, want %d", answer.Base, plan)
		}
	})

	t.Run("registrations drill to streets", func(t *testing.T) {
		var answer summaryAnswer
		f.get(t, cityStaff, "/dashboard/enrolment/registration/summary?district="+backofficetest.Xuhui, http.StatusOK, &answer)
		want := f.rawCounts(t, `SELECT residence_street_code AS code, count(*) AS count FROM registration
			WHERE enrolment_year = $1 AND residence_district_code = $2 GROUP BY 1`, year, backofficetest.Xuhui)
		sameCounts(t, "徐汇 registrations by street", answer.areas(), want)
		for _, area := range answer.ByArea {
			if area.Name == area.Code {
				t.Errorf("street %s has no name", area.Code)
			}
		}
	})

	t.Run("applications drill to kindergartens", func(t *testing.T) {
		var street summaryAnswer
		f.get(t, cityStaff, "/dashboard/enrolment/registration/summary?district="+backofficetest.Xuhui, http.StatusOK, &street)
		if len(street.ByArea) == 0 {
			t.Fatal("徐汇 has no street with registrations")
		}
		code := street.ByArea[0].Code
		var answer summaryAnswer
		f.get(t, cityStaff, "/dashboard/enrolment/application/summary?street="+code, http.StatusOK, &answer)
		want := f.rawCounts(t, `SELECT CAST(c.kindergarten_id AS text) AS code, count(*) AS count
			FROM application a, registration r, campus c
			WHERE r.registration_number = a.registration_number AND c.id = a.campus_choices[1]
			  AND a.enrolment_year = $1 AND r.residence_street_code = $2 GROUP BY 1`, year, code)
		sameCounts(t, "applications by kindergarten", answer.areas(), want)
	})

	t.Run("application rate base", func(t *testing.T) {
		var answer summaryAnswer
		f.get(t, cityStaff, "/dashboard/enrolment/application/summary", http.StatusOK, &answer)
		sameCounts(t, "applications by district", answer.areas(), f.rawCounts(t, `SELECT district_code AS code, count(*) AS count
			FROM application WHERE enrolment_year = $1 GROUP BY 1`, year))
		if answer.Base != 20_000 {
			t.Errorf("application rate base = %d registrations, want 20000", answer.Base)
		}
	})

	t.Run("admissions by district", func(t *testing.T) {
		var answer summaryAnswer
		f.get(t, cityStaff, "/dashboard/enrolment/admission/summary", http.StatusOK, &answer)
		sameCounts(t, "admissions by district", answer.areas(), f.rawCounts(t, `SELECT district_code AS code, count(*) AS count
			FROM application WHERE enrolment_year = $1 AND status = 'admitted' GROUP BY 1`, year))
		categories := map[string]int64{}
		for _, c := range answer.ByCategory {
			categories[c.Code] = c.Count
		}
		want := f.rawCounts(t, `SELECT category_code AS code, count(*) AS count
			FROM application WHERE enrolment_year = $1 AND status = 'admitted' GROUP BY 1`, year)
		if len(want) == 0 {
			t.Fatal("the generated season has no admissions")
		}
		sameCounts(t, "admissions by category", categories, want)
		var supplementary int64
		if err := f.env.DB.DB.Get(&supplementary, `SELECT count(*) FROM application
			WHERE enrolment_year = $1 AND supplementary AND status NOT IN ('returned', 'deleted')`, year); err != nil {
			t.Fatal(err)
		}
		if answer.Supplementary != supplementary {
			t.Errorf("补录取 = %d, want the %d live 补报名 applications", answer.Supplementary, supplementary)
		}
	})

	t.Run("opening day hourly and milestone", func(t *testing.T) {
		opens := f.env.Year.RegistrationOpensAt
		day := opens.In(enrol.Shanghai).Format(time.DateOnly)
		var answer struct {
			Points []struct {
				At    time.Time `json:"at"`
				Count int64     `json:"count"`
			} `json:"points"`
			Milestones []dashboardenrolment.Milestone `json:"milestones"`
		}
		f.get(t, cityStaff, "/dashboard/enrolment/registration/trend?period=day&date="+day, http.StatusOK, &answer)
		got := map[string]int64{}
		for _, p := range answer.Points {
			got[p.At.UTC().Format(time.RFC3339)] = p.Count
		}
		from, _ := time.ParseInLocation(time.DateOnly, day, enrol.Shanghai)
		want := map[string]int64{}
		var rows []struct {
			At    time.Time `db:"at"`
			Count int64     `db:"count"`
		}
		err := f.env.DB.DB.Select(&rows, `SELECT to_timestamp(floor(EXTRACT(EPOCH FROM accepted_at) / 3600) * 3600) AS at, count(*) AS count
			FROM registration WHERE accepted_at >= $1 AND accepted_at < $2 GROUP BY 1`, from, from.AddDate(0, 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			want[row.At.UTC().Format(time.RFC3339)] = row.Count
		}
		sameCounts(t, "registrations per hour", got, want)

		var tenThousandth time.Time
		if err := f.env.DB.DB.Get(&tenThousandth, `SELECT accepted_at FROM registration WHERE enrolment_year = $1
			ORDER BY accepted_at, registration_number OFFSET 9999 LIMIT 1`, year); err != nil {
			t.Fatal(err)
		}
		if len(answer.Milestones) != 2 {
			t.Fatalf("milestones = %+v, want 10000 and 100000", answer.Milestones)
		}
		if crossed := answer.Milestones[0].CrossedAt; crossed == nil || !crossed.Equal(tenThousandth) {
			t.Errorf("10000th registration at %v, want %v", crossed, tenThousandth)
		}
		if answer.Milestones[1].CrossedAt != nil {
			t.Errorf("100000 milestone crossed at %v with 20000 registrations", answer.Milestones[1].CrossedAt)
		}
	})

	t.Run("district staff see their district", func(t *testing.T) {
		var answer summaryAnswer
		f.get(t, xuhuiStaff, "/dashboard/enrolment/registration/summary", http.StatusOK, &answer)
		want := f.env.Count(t, `SELECT count(*) FROM registration WHERE residence_district_code = $1`, backofficetest.Xuhui)
		if answer.Total != int64(want) {
			t.Errorf("徐汇 total = %d, want %d", answer.Total, want)
		}
		f.get(t, xuhuiStaff, "/dashboard/enrolment/registration/summary?district="+backofficetest.Changning, http.StatusForbidden, nil)
		f.get(t, xuhuiStaff, "/dashboard/enrolment/report.xlsx?district="+backofficetest.Changning, http.StatusForbidden, nil)
	})

	t.Run("report any combination", func(t *testing.T) {
		var answer struct {
			Total int64 `json:"total"`
		}
		f.get(t, cityStaff, "/dashboard/enrolment/report?kind=application&group=other_province,hmt_foreign&status=admitted,recorded&sex=F&supplementary=false",
			http.StatusOK, &answer)
		want := f.env.Count(t, `SELECT count(*) FROM application a JOIN registration r USING (registration_number)
			JOIN household_category c ON c.code = a.category_code
			WHERE c.group_code IN ('other_province', 'hmt_foreign') AND a.status IN ('admitted', 'recorded')
			  AND r.child_sex = 'F' AND NOT a.supplementary`)
		if answer.Total != int64(want) {
			t.Errorf("report total = %d, want %d", answer.Total, want)
		}
	})

	t.Run("system state", func(t *testing.T) {
		var state dashboardenrolment.SystemState
		f.get(t, cityStaff, "/dashboard/enrolment/state", http.StatusOK, &state)
		// The demo season opened registration and application an hour ago.
		if !state.Registration.Open {
			t.Errorf("registration is closed, want open: %+v", state.Registration)
		}
		if len(state.Districts) != 16 {
			t.Fatalf("%d districts, want 16", len(state.Districts))
		}
		for _, district := range state.Districts {
			if !district.Open {
				t.Errorf("applications in %s closed, want open", district.Name)
			}
		}
		f.get(t, xuhuiStaff, "/dashboard/enrolment/state", http.StatusOK, &state)
		if len(state.Districts) != 1 || state.Districts[0].Code != backofficetest.Xuhui {
			t.Errorf("徐汇 staff see districts %+v, want only 徐汇", state.Districts)
		}
	})

	t.Run("public opinion", func(t *testing.T) {
		var opinion dashboardenrolment.Opinion
		f.get(t, cityStaff, "/dashboard/enrolment/opinion", http.StatusOK, &opinion)
		got := map[string]int64{}
		for _, c := range opinion.ByStatus {
			got[c.Source+"/"+c.Code] = c.Count
		}
		sameCounts(t, "opinion records by status", got, f.rawCounts(t, `SELECT source || '/' || status AS code, count(*) AS count
			FROM opinion_record o, enrolment_year y
			WHERE y.year = $1 AND o.received_at BETWEEN y.registration_opens_at AND y.application_closes_at GROUP BY 1`, year))
		unresolved := f.env.Count(t, `SELECT count(*) FROM opinion_record WHERE source = 'helpdesk' AND status <> 'resolved'`)
		if opinion.UnresolvedQuestions != int64(unresolved) || unresolved == 0 {
			t.Errorf("unresolved questions = %d, want %d (and more than 0)", opinion.UnresolvedQuestions, unresolved)
		}
		var stages int64
		for _, c := range opinion.ByStage {
			stages += c.Count
		}
		if want := f.env.Count(t, `SELECT count(*) FROM opinion_record`); stages != int64(want) {
			t.Errorf("records by stage = %d, want %d", stages, want)
		}

		f.get(t, xuhuiStaff, "/dashboard/enrolment/opinion", http.StatusOK, &opinion)
		for _, c := range opinion.ByDistrict {
			if c.Code != backofficetest.Xuhui {
				t.Errorf("徐汇 staff see opinion records of %s", c.Code)
			}
		}
	})

	t.Run("invalid parameters", func(t *testing.T) {
		for _, path := range []string{
			"/dashboard/enrolment/registration/summary?period=fortnight",
			"/dashboard/enrolment/registration/summary?period=custom&from=2025-01-02&to=2025-01-01",
			"/dashboard/enrolment/registration/summary?district=999",
			"/dashboard/enrolment/registration/summary?year=abc",
			"/dashboard/enrolment/report?kind=registration&category=foreign",
			"/dashboard/enrolment/report?status=unknown",
		} {
			f.get(t, cityStaff, path, http.StatusBadRequest, nil)
		}
		f.get(t, cityStaff, "/dashboard/enrolment/lottery/summary", http.StatusNotFound, nil)
	})
}
