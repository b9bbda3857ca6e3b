package dashboard_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

type trendAnswer struct {
	Points []struct {
		At    time.Time `json:"at"`
		Count int64     `json:"count"`
	} `json:"points"`
	Milestones []dashboardenrolment.Milestone `json:"milestones"`
}

// shanghaiDays returns the points' counts keyed by Shanghai date.
func (a trendAnswer) shanghaiDays() map[string]int64 {
	days := map[string]int64{}
	for _, p := range a.Points {
		days[p.At.In(enrol.Shanghai).Format(time.DateOnly)] += p.Count
	}
	return days
}

// nthTime runs a query returning one timestamp, or nil for no row.
func (f *fixture) nthTime(t *testing.T, query string, args ...any) *time.Time {
	t.Helper()
	var times []time.Time
	if err := f.env.DB.DB.Select(&times, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if len(times) == 0 {
		return nil
	}
	return &times[0]
}

func sameMoment(t *testing.T, figure string, got, want *time.Time) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Errorf("%s crossed at %v, want not crossed", figure, got)
	case want != nil && got == nil:
		t.Errorf("%s not crossed, want %v", figure, want)
	case want != nil && !got.Equal(*want):
		t.Errorf("%s crossed at %v, want %v", figure, got, want)
	}
}

func TestAdmissionTrendMatchesRawRows(t *testing.T) {
	f := newFixture(t, 20_000)
	year := f.year

	t.Run("per day", func(t *testing.T) {
		var answer trendAnswer
		f.get(t, cityStaff, "/dashboard/enrolment/admission/trend", http.StatusOK, &answer)
		want := f.rawCounts(t, `SELECT to_char(admitted_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS code, count(*) AS count
			FROM application WHERE enrolment_year = $1 AND status = 'admitted' GROUP BY 1`, year)
		if len(want) < 2 {
			t.Fatalf("generated admissions fall on %d days, want several", len(want))
		}
		sameCounts(t, "admissions per day", answer.shanghaiDays(), want)
	})

	t.Run("per hour of the busiest day in a district", func(t *testing.T) {
		var day string
		err := f.env.DB.DB.Get(&day, `SELECT to_char(admitted_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')
			FROM application WHERE status = 'admitted' AND district_code = $1 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
			backofficetest.Xuhui)
		if err != nil {
			t.Fatal(err)
		}
		var answer trendAnswer
		f.get(t, cityStaff, "/dashboard/enrolment/admission/trend?period=day&date="+day+"&district="+backofficetest.Xuhui,
			http.StatusOK, &answer)
		got := map[string]int64{}
		for _, p := range answer.Points {
			got[p.At.UTC().Format(time.RFC3339)] = p.Count
		}
		from, _ := time.ParseInLocation(time.DateOnly, day, enrol.Shanghai)
		var rows []struct {
			At    time.Time `db:"at"`
			Count int64     `db:"count"`
		}
		err = f.env.DB.DB.Select(&rows, `SELECT to_timestamp(floor(EXTRACT(EPOCH FROM admitted_at) / 3600) * 3600) AS at, count(*) AS count
			FROM application WHERE status = 'admitted' AND district_code = $1 AND admitted_at >= $2 AND admitted_at < $3 GROUP BY 1`,
			backofficetest.Xuhui, from, from.AddDate(0, 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{}
		for _, row := range rows {
			want[row.At.UTC().Format(time.RFC3339)] = row.Count
		}
		sameCounts(t, "徐汇 admissions per hour", got, want)
	})

	t.Run("summary counts by admission time", func(t *testing.T) {
		var day string
		if err := f.env.DB.DB.Get(&day, `SELECT to_char(min(admitted_at) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')
			FROM application WHERE status = 'admitted'`); err != nil {
			t.Fatal(err)
		}
		var answer summaryAnswer
		f.get(t, cityStaff, "/dashboard/enrolment/admission/summary?period=day&date="+day, http.StatusOK, &answer)
		want := f.env.Count(t, `SELECT count(*) FROM application WHERE status = 'admitted'
			AND CAST(admitted_at AT TIME ZONE 'Asia/Shanghai' AS date) = CAST($1 AS date)`, day)
		if answer.Total != int64(want) || want == 0 {
			t.Errorf("admissions on %s = %d, want %d (and more than 0)", day, answer.Total, want)
		}
	})

	t.Run("district staff", func(t *testing.T) {
		var answer trendAnswer
		f.get(t, xuhuiStaff, "/dashboard/enrolment/admission/trend", http.StatusOK, &answer)
		var total int64
		for _, p := range answer.Points {
			total += p.Count
		}
		want := f.env.Count(t, `SELECT count(*) FROM application WHERE status = 'admitted' AND district_code = $1`, backofficetest.Xuhui)
		if total != int64(want) {
			t.Errorf("徐汇 admissions = %d, want %d", total, want)
		}
		f.get(t, xuhuiStaff, "/dashboard/enrolment/admission/trend?district="+backofficetest.Changning, http.StatusForbidden, nil)
	})

	t.Run("status change stamps the time", func(t *testing.T) {
		ctx := context.Background()
		var number string
		var stamped time.Time
		err := f.env.DB.DB.QueryRowContext(ctx, `UPDATE application SET status = 'admitted'
			WHERE application_number = (SELECT min(application_number) FROM application WHERE status = 'recorded')
			RETURNING application_number, admitted_at`).Scan(&number, &stamped)
		if err != nil {
			t.Fatal(err)
		}
		if age := time.Since(stamped); age < -time.Minute || age > time.Minute {
			t.Errorf("admitted_at = %v, want about now", stamped)
		}
		var cleared *time.Time
		err = f.env.DB.DB.QueryRowContext(ctx, `UPDATE application SET status = 'not_admitted' WHERE application_number = $1
			RETURNING admitted_at`, number).Scan(&cleared)
		if err != nil {
			t.Fatal(err)
		}
		if cleared != nil {
			t.Errorf("admitted_at = %v after leaving admitted, want NULL", cleared)
		}
		_, err = f.env.DB.DB.ExecContext(ctx, `UPDATE application SET status = 'admitted', admitted_at = NULL
			WHERE application_number = $1`, number)
		if err != nil {
			t.Errorf("status change to admitted without a time: %v, want the trigger to stamp it", err)
		}
		_, err = f.env.DB.DB.ExecContext(ctx, `INSERT INTO application (application_number, registration_number, enrolment_year,
			child_index, district_code, entry_id, category_code, campus_choices, schema_version, key_id, payload_hash, owner_index,
			status, accepted_at)
			SELECT '99999999999999', registration_number, enrolment_year, '\x01'::bytea, district_code, entry_id, category_code,
			       campus_choices, schema_version, key_id, payload_hash, owner_index, 'admitted', accepted_at
			FROM application WHERE application_number = $1`, number)
		if err == nil || !strings.Contains(err.Error(), "application_admitted_at_check") {
			t.Errorf("insert of an admitted application without admitted_at: %v, want application_admitted_at_check to reject it", err)
		}
	})
}

func TestMilestonesMatchRawRows(t *testing.T) {
	f := newFixture(t, 20_000)
	year := f.year

	t.Run("city applications", func(t *testing.T) {
		var answer trendAnswer
		f.get(t, cityStaff, "/dashboard/enrolment/application/trend", http.StatusOK, &answer)
		if len(answer.Milestones) != 2 || answer.Milestones[0].Count != 10_000 || answer.Milestones[1].Count != 100_000 {
			t.Fatalf("milestones = %+v, want 10000 and 100000", answer.Milestones)
		}
		want := f.nthTime(t, `SELECT accepted_at FROM application WHERE enrolment_year = $1
			ORDER BY accepted_at, application_number OFFSET 9999 LIMIT 1`, year)
		sameMoment(t, "10000th application", answer.Milestones[0].CrossedAt, want)
		sameMoment(t, "100000th application", answer.Milestones[1].CrossedAt, nil)
	})

	t.Run("city admissions", func(t *testing.T) {
		var answer trendAnswer
		f.get(t, cityStaff, "/dashboard/enrolment/admission/trend", http.StatusOK, &answer)
		if len(answer.Milestones) != 1 || answer.Milestones[0].Count != 10_000 {
			t.Fatalf("milestones = %+v, want 10000", answer.Milestones)
		}
		// 20,000 registrations give 6,000 admissions.
		sameMoment(t, "10000th admission", answer.Milestones[0].CrossedAt, nil)
	})

	t.Run("cockpit overview", func(t *testing.T) {
		var answer dashboardenrolment.Overview
		f.get(t, cityStaff, "/dashboard/enrolment/overview", http.StatusOK, &answer)
		want := f.nthTime(t, `SELECT accepted_at FROM application WHERE enrolment_year = $1
			ORDER BY accepted_at, application_number OFFSET 9999 LIMIT 1`, year)
		if len(answer.ApplicationMilestones) != 2 {
			t.Fatalf("application milestones = %+v, want 2", answer.ApplicationMilestones)
		}
		sameMoment(t, "cockpit 10000th application", answer.ApplicationMilestones[0].CrossedAt, want)
		if len(answer.AdmissionMilestones) != 1 {
			t.Errorf("admission milestones = %+v, want 1", answer.AdmissionMilestones)
		}
		var admitted int64
		for _, p := range answer.AdmissionTrend {
			admitted += p.Count
		}
		if want := f.env.Count(t, `SELECT count(*) FROM application WHERE status = 'admitted'`); admitted != int64(want) {
			t.Errorf("cockpit admission trend sums to %d, want %d", admitted, want)
		}
	})

	// A district has too few rows for the real milestones, so this store
	// puts them at half of the district's count, and one above it.
	t.Run("district with lower milestones", func(t *testing.T) {
		district := backofficetest.Xuhui
		registrations := f.env.Count(t, `SELECT count(*) FROM registration WHERE residence_district_code = $1`, district)
		applications := f.env.Count(t, `SELECT count(*) FROM application WHERE district_code = $1`, district)
		admissions := f.env.Count(t, `SELECT count(*) FROM application WHERE district_code = $1 AND status = 'admitted'`, district)
		if admissions < 10 {
			t.Fatalf("徐汇 has %d admissions, want at least 10", admissions)
		}
		store := &dashboardenrolment.Store{DB: f.env.DB.DB, Names: f.names, MilestoneCounts: map[string][]int{
			dashboardenrolment.KindRegistration: {registrations / 2, registrations + 1},
			dashboardenrolment.KindApplication:  {applications / 2, applications + 1},
			dashboardenrolment.KindAdmission:    {admissions / 2, admissions + 1},
		}}
		q := dashboardenrolment.Query{
			Year:  year,
			Range: dashboard.Range{Period: dashboard.PeriodDay},
			Area:  dashboard.Area{Level: dashboard.LevelDistrict, DistrictCode: district},
			Scope: access.Scope{Level: access.LevelCity},
		}
		cases := []struct {
			kind, query string
			half        int
		}{
			{dashboardenrolment.KindRegistration, `SELECT accepted_at FROM registration WHERE enrolment_year = $1
				AND residence_district_code = $2 ORDER BY accepted_at, registration_number OFFSET $3 LIMIT 1`, registrations / 2},
			{dashboardenrolment.KindApplication, `SELECT accepted_at FROM application WHERE enrolment_year = $1
				AND district_code = $2 ORDER BY accepted_at, application_number OFFSET $3 LIMIT 1`, applications / 2},
			{dashboardenrolment.KindAdmission, `SELECT admitted_at FROM application WHERE enrolment_year = $1
				AND district_code = $2 AND status = 'admitted' ORDER BY admitted_at, application_number OFFSET $3 LIMIT 1`, admissions / 2},
		}
		for _, c := range cases {
			milestones, err := store.Milestones(context.Background(), c.kind, q)
			if err != nil {
				t.Fatalf("%s milestones: %v", c.kind, err)
			}
			if len(milestones) != 2 {
				t.Fatalf("%s milestones = %+v, want 2", c.kind, milestones)
			}
			sameMoment(t, "徐汇 "+c.kind+" half", milestones[0].CrossedAt, f.nthTime(t, c.query, year, district, c.half-1))
			sameMoment(t, "徐汇 "+c.kind+" all plus one", milestones[1].CrossedAt, nil)
		}
	})
}
