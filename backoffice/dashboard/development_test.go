package dashboard_test

import (
	"math"
	"net/http"
	"testing"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/dashboard/alerts"
)

func TestDevelopmentPanelsMatchRawRows(t *testing.T) {
	f := newFixture(t, 1000)
	year := f.year

	t.Run("kindergartens by level", func(t *testing.T) {
		var answer struct {
			Levels []struct {
				Code  string `json:"code"`
				Level string `json:"level"`
				Count int64  `json:"count"`
			} `json:"levels"`
			Points []struct {
				ID int64 `json:"id"`
			} `json:"points"`
		}
		f.get(t, cityStaff, "/dashboard/development/kindergartens", http.StatusOK, &answer)
		got := map[string]int64{}
		for _, l := range answer.Levels {
			got[l.Code+"/"+l.Level] = l.Count
		}
		sameCounts(t, "kindergartens by district and level", got, f.rawCounts(t,
			`SELECT district_code || '/' || level AS code, count(*) AS count FROM kindergarten GROUP BY 1`))
		if want := f.env.Count(t, `SELECT count(*) FROM kindergarten`); len(answer.Points) != want {
			t.Errorf("%d map points, want one per kindergarten (%d)", len(answer.Points), want)
		}
	})

	t.Run("children by grade in a district", func(t *testing.T) {
		var answer struct {
			Children []struct {
				Grade string `json:"grade"`
				Boys  int64  `json:"boys"`
				Girls int64  `json:"girls"`
			} `json:"children"`
		}
		f.get(t, xuhuiStaff, "/dashboard/development/children", http.StatusOK, &answer)
		got := map[string]int64{}
		for _, c := range answer.Children {
			got[c.Grade+"/M"], got[c.Grade+"/F"] = c.Boys, c.Girls
		}
		sameCounts(t, "徐汇 children", got, f.rawCounts(t, `
			SELECT grade || '/M' AS code, sum(boys) AS count FROM kindergarten_class_census
			WHERE census_year = $1 AND kindergarten_id IN (SELECT id FROM kindergarten WHERE district_code = $2) GROUP BY 1
			UNION ALL
			SELECT grade || '/F', sum(girls) FROM kindergarten_class_census
			WHERE census_year = $1 AND kindergarten_id IN (SELECT id FROM kindergarten WHERE district_code = $2) GROUP BY 1`,
			year, backofficetest.Xuhui))
	})

	t.Run("class-size compliance", func(t *testing.T) {
		var answer struct {
			ByArea []struct {
				Code           string  `json:"code"`
				ComplianceRate float64 `json:"complianceRate"`
			} `json:"byArea"`
			Oversized []struct {
				KindergartenID int64 `json:"kindergartenId"`
			} `json:"oversized"`
		}
		f.get(t, cityStaff, "/dashboard/development/class-sizes", http.StatusOK, &answer)
		for _, area := range answer.ByArea {
			var classes, oversized float64
			err := f.env.DB.DB.QueryRow(`SELECT sum(classes), sum(oversized_classes) FROM kindergarten_class_census c
				WHERE census_year = $1 AND EXISTS (SELECT 1 FROM kindergarten k WHERE k.id = c.kindergarten_id AND k.district_code = $2)`,
				year, area.Code).Scan(&classes, &oversized)
			if err != nil {
				t.Fatal(err)
			}
			if want := (classes - oversized) / classes; math.Abs(area.ComplianceRate-want) > 1e-9 {
				t.Errorf("compliance of %s = %v, want %v", area.Code, area.ComplianceRate, want)
			}
		}
		if want := f.env.Count(t, `SELECT count(*) FROM kindergarten_class_census WHERE census_year = $1 AND oversized_classes > 0`, year); len(answer.Oversized) != min(want, 200) {
			t.Errorf("%d oversized rows, want %d", len(answer.Oversized), min(want, 200))
		}
	})

	t.Run("gross enrolment rate", func(t *testing.T) {
		var answer struct {
			ByArea []struct {
				Code               string   `json:"code"`
				GrossEnrolmentRate *float64 `json:"grossEnrolmentRate"`
				PublicShare        float64  `json:"publicShare"`
			} `json:"byArea"`
		}
		// Streets without a public kindergarten have no public children,
		// which must come back as 0.
		for _, staff := range []*access.Staff{xuhuiStaff} {
			f.get(t, staff, "/dashboard/development/coverage", http.StatusOK, nil)
			f.get(t, staff, "/dashboard/development/workforce", http.StatusOK, nil)
		}
		for _, district := range []string{backofficetest.Xuhui, backofficetest.Changning, backofficetest.Pudong} {
			f.get(t, cityStaff, "/dashboard/development/coverage?district="+district, http.StatusOK, nil)
		}
		f.get(t, cityStaff, "/dashboard/development/coverage", http.StatusOK, &answer)
		if len(answer.ByArea) == 0 {
			t.Fatal("no district in the coverage panel")
		}
		for _, area := range answer.ByArea {
			var children, public, population float64
			err := f.env.DB.DB.QueryRow(`
				SELECT (SELECT sum(c.boys + c.girls) FROM kindergarten_class_census c JOIN kindergarten k ON k.id = c.kindergarten_id
				        WHERE c.census_year = $1 AND k.district_code = $2 AND c.grade <> 'nursery'),
				       (SELECT sum(c.boys + c.girls) FROM kindergarten_class_census c JOIN kindergarten k ON k.id = c.kindergarten_id
				        WHERE c.census_year = $1 AND k.district_code = $2 AND c.grade <> 'nursery' AND k.ownership = 'public'),
				       (SELECT sum(population) FROM resident_population WHERE census_year = $1 AND district_code = $2 AND age IN (3, 4, 5))`,
				year, area.Code).Scan(&children, &public, &population)
			if err != nil {
				t.Fatal(err)
			}
			if area.GrossEnrolmentRate == nil || math.Abs(*area.GrossEnrolmentRate-children/population) > 1e-9 {
				t.Errorf("gross enrolment rate of %s = %v, want %v", area.Code, area.GrossEnrolmentRate, children/population)
			}
			if math.Abs(area.PublicShare-public/children) > 1e-9 {
				t.Errorf("public share of %s = %v, want %v", area.Code, area.PublicShare, public/children)
			}
		}
	})

	t.Run("workforce quadrants", func(t *testing.T) {
		var answer struct {
			ByArea []struct {
				Code                  string `json:"code"`
				Teachers              int64  `json:"teachers"`
				BothStandardsMet      int64  `json:"bothStandardsMet"`
				EducationStandardOnly int64  `json:"educationStandardOnly"`
				TitleStandardOnly     int64  `json:"titleStandardOnly"`
				NeitherStandardMet    int64  `json:"neitherStandardMet"`
			} `json:"byArea"`
		}
		f.get(t, cityStaff, "/dashboard/development/workforce", http.StatusOK, &answer)
		quadrants := int64(0)
		teachers := int64(0)
		for _, area := range answer.ByArea {
			quadrants += area.BothStandardsMet + area.EducationStandardOnly + area.TitleStandardOnly + area.NeitherStandardMet
			teachers += area.Teachers
		}
		if want := f.env.Count(t, `SELECT count(DISTINCT kindergarten_id) FROM kindergarten_staff_census WHERE census_year = $1 AND role = 'teacher'`, year); quadrants != int64(want) {
			t.Errorf("kindergartens in the quadrants = %d, want %d", quadrants, want)
		}
		if want := f.env.Count(t, `SELECT sum(staff) FROM kindergarten_staff_census WHERE census_year = $1 AND role = 'teacher'`, year); teachers != int64(want) {
			t.Errorf("teachers = %d, want %d", teachers, want)
		}
	})

	t.Run("report filters", func(t *testing.T) {
		var answer struct {
			Total   int      `json:"total"`
			Headers []string `json:"headers"`
		}
		f.get(t, xuhuiStaff, "/dashboard/development/report?table=institutions&ownership=public&level=model,level1", http.StatusOK, &answer)
		want := f.env.Count(t, `SELECT count(*) FROM kindergarten WHERE district_code = $1 AND ownership = 'public' AND level IN ('model', 'level1')`, backofficetest.Xuhui)
		if answer.Total != want {
			t.Errorf("institutions = %d, want %d", answer.Total, want)
		}
		for _, table := range []string{"children", "staff", "quality"} {
			f.get(t, cityStaff, "/dashboard/development/report?table="+table, http.StatusOK, &answer)
			if answer.Total == 0 || len(answer.Headers) == 0 {
				t.Errorf("report %s has %d rows and headers %v", table, answer.Total, answer.Headers)
			}
		}
		f.get(t, cityStaff, "/dashboard/development/report?table=salaries", http.StatusBadRequest, nil)
	})

	t.Run("alerts follow thresholds", func(t *testing.T) {
		var list struct {
			Items []alerts.Alert `json:"items"`
		}
		// A class-size threshold of 100% alerts every district with one
		// oversized class.
		recorder := f.put(t, cityStaff, "/dashboard/alert-thresholds/class_size_compliance", `{"threshold": 1}`)
		if recorder != http.StatusOK {
			t.Fatalf("PUT threshold = %d, want 200", recorder)
		}
		f.get(t, cityStaff, "/dashboard/alerts", http.StatusOK, &list)
		want := f.env.Count(t, `SELECT count(DISTINCT k.district_code) FROM kindergarten_class_census c JOIN kindergarten k ON k.id = c.kindergarten_id
			WHERE c.census_year = $1 AND c.oversized_classes > 0`, year)
		got := 0
		for _, alert := range list.Items {
			if alert.Code == alerts.ClassSizeCompliance {
				got++
			}
		}
		if got != want {
			t.Errorf("class-size alerts = %d, want %d", got, want)
		}
		if code := f.put(t, xuhuiStaff, "/dashboard/alert-thresholds/class_size_compliance", `{"threshold": 0.5}`); code != http.StatusForbidden {
			t.Errorf("district staff PUT threshold = %d, want 403", code)
		}
		if code := f.put(t, cityStaff, "/dashboard/alert-thresholds/class_size_compliance", `{"threshold": -1}`); code != http.StatusBadRequest {
			t.Errorf("PUT negative threshold = %d, want 400", code)
		}
		if events := f.env.Count(t, `SELECT count(*) FROM audit_event WHERE action = 'dashboard.alert_threshold.update'`); events != 1 {
			t.Errorf("audited threshold changes = %d, want 1", events)
		}
	})
}
