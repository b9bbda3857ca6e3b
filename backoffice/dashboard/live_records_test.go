package dashboard_test

import (
	"context"
	"math"
	"net/http"
	"testing"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
)

// liveApplications is the raw count the panels must show: applications
// neither returned nor deleted.
const liveApplications = `SELECT count(*) FROM application WHERE enrolment_year = $1 AND status NOT IN ('returned', 'deleted')`

func TestEnrolmentPanelsCountLiveRecords(t *testing.T) {
	f := newFixture(t, 2000)
	year := f.year

	// Return every tenth application and let a few of those children
	// apply again, mark others deleted, and delete some registrations
	// with their applications, as the review module does.
	for _, statement := range []string{
		`UPDATE application SET status = 'returned' WHERE right(application_number, 1) = '4'`,
		`INSERT INTO application (application_number, registration_number, enrolment_year, child_index, district_code,
		     entry_id, category_code, campus_choices, schema_version, key_id, payload_hash, owner_index,
		     supplementary, status, accepted_at)
		 SELECT overlay(application_number PLACING '8' FROM 7 FOR 1), registration_number, enrolment_year, child_index,
		     district_code, entry_id, category_code, campus_choices, schema_version, key_id, payload_hash, owner_index,
		     supplementary, 'recorded', accepted_at + interval '2 hours'
		 FROM application WHERE status = 'returned' AND right(application_number, 2) IN ('14', '54')`,
		`UPDATE application SET status = 'deleted' WHERE right(application_number, 2) IN ('01', '26')`,
		`DELETE FROM application WHERE registration_number IN (SELECT registration_number FROM registration
		     WHERE right(registration_number, 2) = '09')`,
		`DELETE FROM registration WHERE right(registration_number, 2) = '09'`,
	} {
		if _, err := f.env.DB.DB.Exec(statement); err != nil {
			t.Fatalf("change records: %v\n%s", err, statement)
		}
	}
	registrations := int64(f.env.Count(t, `SELECT count(*) FROM registration WHERE enrolment_year = $1`, year))
	applications := int64(f.env.Count(t, liveApplications, year))
	returned := int64(f.env.Count(t, `SELECT count(*) FROM application WHERE status = 'returned'`))
	if registrations >= 2000 || returned == 0 || applications >= 1400 {
		t.Fatalf("changes left %d registrations, %d live and %d returned applications: nothing was removed",
			registrations, applications, returned)
	}

	t.Run("summaries", func(t *testing.T) {
		var registration summaryAnswer
		f.get(t, cityStaff, "/dashboard/enrolment/registration/summary", http.StatusOK, &registration)
		if registration.Total != registrations {
			t.Errorf("registration total = %d, want %d", registration.Total, registrations)
		}
		var application struct {
			summaryAnswer
			Rate float64 `json:"rate"`
		}
		f.get(t, cityStaff, "/dashboard/enrolment/application/summary", http.StatusOK, &application)
		if application.Total != applications {
			t.Errorf("application total = %d, want %d", application.Total, applications)
		}
		if application.Base != registrations {
			t.Errorf("application rate base = %d, want %d registrations", application.Base, registrations)
		}
		if want := float64(applications) / float64(registrations); math.Abs(application.Rate-want) > 0.001 {
			t.Errorf("报名率 = %.4f, want %.4f", application.Rate, want)
		}
	})

	t.Run("trend", func(t *testing.T) {
		var answer trendAnswer
		f.get(t, cityStaff, "/dashboard/enrolment/application/trend", http.StatusOK, &answer)
		var sum int64
		for _, p := range answer.Points {
			sum += p.Count
		}
		if sum != applications {
			t.Errorf("application trend sums to %d, want %d", sum, applications)
		}
	})

	t.Run("report", func(t *testing.T) {
		var answer struct {
			Total int64 `json:"total"`
		}
		f.get(t, cityStaff, "/dashboard/enrolment/report?kind=application", http.StatusOK, &answer)
		if answer.Total != applications {
			t.Errorf("report total = %d, want %d", answer.Total, applications)
		}
		f.get(t, cityStaff, "/dashboard/enrolment/report?kind=application&status=returned", http.StatusOK, &answer)
		if answer.Total != returned {
			t.Errorf("report of returned applications = %d, want %d", answer.Total, returned)
		}
	})

	t.Run("overview", func(t *testing.T) {
		var answer dashboardenrolment.Overview
		f.get(t, cityStaff, "/dashboard/enrolment/overview", http.StatusOK, &answer)
		if answer.Applications.Total != applications {
			t.Errorf("cockpit applications = %d, want %d", answer.Applications.Total, applications)
		}
		if answer.Registrations.Total != registrations {
			t.Errorf("cockpit registrations = %d, want %d", answer.Registrations.Total, registrations)
		}
	})

	t.Run("application milestone", func(t *testing.T) {
		half := int(applications / 2)
		store := &dashboardenrolment.Store{DB: f.env.DB.DB, Names: f.names, MilestoneCounts: map[string][]int{
			dashboardenrolment.KindApplication: {half},
		}}
		q := dashboardenrolment.Query{
			Year:  year,
			Range: dashboard.Range{Period: dashboard.PeriodDay},
			Area:  dashboard.Area{Level: dashboard.LevelCity},
			Scope: access.Scope{Level: access.LevelCity},
		}
		milestones, err := store.Milestones(context.Background(), dashboardenrolment.KindApplication, q)
		if err != nil {
			t.Fatalf("application milestones: %v", err)
		}
		if len(milestones) != 1 {
			t.Fatalf("application milestones = %+v, want 1", milestones)
		}
		want := f.nthTime(t, `SELECT accepted_at FROM application WHERE enrolment_year = $1
			AND status NOT IN ('returned', 'deleted') ORDER BY accepted_at, application_number OFFSET $2 LIMIT 1`, year, half-1)
		sameMoment(t, "live application half", milestones[0].CrossedAt, want)
	})

	t.Run("far-future date", func(t *testing.T) {
		for _, path := range []string{
			"/dashboard/enrolment/registration/summary?period=day&date=9999-12-31",
			"/dashboard/enrolment/application/trend?period=day&date=9999-12-31",
			"/dashboard/enrolment/report?period=day&date=9999-12-31",
			"/dashboard/enrolment/overview?period=day&date=9999-12-31",
			"/dashboard/enrolment/admission/summary?period=custom&from=2026-01-01&to=9999-12-31",
		} {
			var answer struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			f.get(t, cityStaff, path, http.StatusBadRequest, &answer)
			if answer.Error.Code != "date_out_of_range" {
				t.Errorf("GET %s: error code %q, want date_out_of_range", path, answer.Error.Code)
			}
		}
	})
}
