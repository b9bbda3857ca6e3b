package enrolment_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// rollupRow is one row of the rollup, or the same figure counted from the
// raw tables.
type rollupRow struct {
	Kind         string `db:"kind"`
	Year         int    `db:"enrolment_year"`
	Hour         string `db:"hour"`
	District     string `db:"district_code"`
	Street       string `db:"street_code"`
	Kindergarten int64  `db:"kindergarten_id"`
	Category     string `db:"category"`
	Supplement   bool   `db:"supplementary"`
	Submissions  int64  `db:"submissions"`
}

func rollupRows(t *testing.T, db *sqlx.DB) []rollupRow {
	t.Helper()
	var rows []rollupRow
	err := db.Select(&rows, `SELECT kind, enrolment_year, CAST(hour AS text) AS hour, district_code, street_code,
		kindergarten_id, category, supplementary, submissions FROM enrolment_rollup WHERE submissions > 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8`)
	if err != nil {
		t.Fatalf("read rollup: %v", err)
	}
	return rows
}

// rawRows counts the raw tables per rollup key with correlated look-ups
// instead of the joins the triggers and Rebuild use.
func rawRows(t *testing.T, db *sqlx.DB) []rollupRow {
	t.Helper()
	var rows []rollupRow
	err := db.Select(&rows, `
		SELECT * FROM (
		  SELECT 'registration' AS kind, enrolment_year,
		         CAST(to_timestamp(floor(EXTRACT(EPOCH FROM accepted_at) / 3600) * 3600) AS text) AS hour,
		         residence_district_code AS district_code, CAST(residence_street_code AS text) AS street_code,
		         CAST(0 AS bigint) AS kindergarten_id, category_group AS category, supplementary, count(*) AS submissions
		  FROM registration GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
		  UNION ALL
		  SELECT 'application', enrolment_year,
		         CAST(to_timestamp(floor(EXTRACT(EPOCH FROM accepted_at) / 3600) * 3600) AS text),
		         district_code,
		         COALESCE((SELECT CAST(r.residence_street_code AS text) FROM registration r WHERE r.registration_number = a.registration_number), ''),
		         COALESCE((SELECT c.kindergarten_id FROM campus c WHERE c.id = a.campus_choices[1]), 0),
		         category_code, supplementary, count(*)
		  FROM application a GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
		) raw ORDER BY 1, 2, 3, 4, 5, 6, 7, 8`)
	if err != nil {
		t.Fatalf("count raw rows: %v", err)
	}
	return rows
}

// dailyRow is one row of the daily rollup, or the same figure counted
// from the raw tables.
type dailyRow struct {
	Kind        string `db:"kind"`
	Year        int    `db:"enrolment_year"`
	Day         string `db:"day"`
	District    string `db:"district_code"`
	Category    string `db:"category"`
	Supplement  bool   `db:"supplementary"`
	Submissions int64  `db:"submissions"`
}

func dailyRows(t *testing.T, db *sqlx.DB) []dailyRow {
	t.Helper()
	var rows []dailyRow
	err := db.Select(&rows, `SELECT kind, enrolment_year, CAST(day AS text) AS day, district_code, category, supplementary,
		submissions FROM enrolment_daily_rollup WHERE submissions > 0 ORDER BY 1, 2, 3, 4, 5, 6`)
	if err != nil {
		t.Fatalf("read daily rollup: %v", err)
	}
	return rows
}

// rawDailyRows counts the raw tables per Shanghai day, shifting UTC by the
// fixed eight hours instead of converting time zones.
func rawDailyRows(t *testing.T, db *sqlx.DB) []dailyRow {
	t.Helper()
	var rows []dailyRow
	err := db.Select(&rows, `
		SELECT * FROM (
		  SELECT 'registration' AS kind, enrolment_year,
		         CAST(CAST((accepted_at AT TIME ZONE 'UTC') + interval '8 hours' AS date) AS text) AS day,
		         residence_district_code AS district_code, category_group AS category, supplementary, count(*) AS submissions
		  FROM registration GROUP BY 1, 2, 3, 4, 5, 6
		  UNION ALL
		  SELECT 'application', enrolment_year,
		         CAST(CAST((accepted_at AT TIME ZONE 'UTC') + interval '8 hours' AS date) AS text),
		         district_code, category_code, supplementary, count(*)
		  FROM application GROUP BY 1, 2, 3, 4, 5, 6
		) raw ORDER BY 1, 2, 3, 4, 5, 6`)
	if err != nil {
		t.Fatalf("count raw rows per day: %v", err)
	}
	return rows
}

func TestRollupFollowsDrainedBatches(t *testing.T) {
	env := backofficetest.New(t)
	store := &enrolment.Store{DB: env.DB.DB}
	ctx := context.Background()

	var registrations []enrol.RegistrationRecord
	var applications []enrol.ApplicationRecord
	for i := range 6 {
		district := backofficetest.Xuhui
		if i%2 == 1 {
			district = backofficetest.Changning
		}
		subject := backofficetest.Subject(i)
		number := env.Register(t, subject, env.ShanghaiChild(t, i, district, district))
		registrations = append(registrations, env.RegistrationOf(t, number))
		if i < 4 {
			applications = append(applications, env.ApplicationOf(t, env.Apply(t, subject, number, district)))
		}
	}
	// Two batches, the second repeating one record of the first as a
	// redelivered stream entry would: the rollup must count it once.
	if _, err := store.InsertBatch(ctx, registrations[:3], applications[:2]); err != nil {
		t.Fatalf("InsertBatch 1: %v", err)
	}
	if _, err := store.InsertBatch(ctx, registrations[2:], applications[1:]); err != nil {
		t.Fatalf("InsertBatch 2: %v", err)
	}

	got := rollupRows(t, env.DB.DB)
	if diff := cmp.Diff(rawRows(t, env.DB.DB), got); diff != "" {
		t.Errorf("rollup differs from the raw tables (-raw +rollup):\n%s", diff)
	}
	if diff := cmp.Diff(rawDailyRows(t, env.DB.DB), dailyRows(t, env.DB.DB)); diff != "" {
		t.Errorf("daily rollup differs from the raw tables (-raw +rollup):\n%s", diff)
	}
	var total int64
	for _, row := range got {
		total += row.Submissions
	}
	if total != 10 {
		t.Errorf("rollup total = %d, want 6 registrations + 4 applications", total)
	}
}

func TestRebuildMatchesRawTables(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()

	registered, applied, err := dashboardenrolment.Generate(ctx, env.DB.DB, env.Year.Year, 5000)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if registered != 5000 || applied != 3500 {
		t.Errorf("Generate wrote %d registrations and %d applications, want 5000 and 3500", registered, applied)
	}
	raw := rawRows(t, env.DB.DB)
	if diff := cmp.Diff(raw, rollupRows(t, env.DB.DB)); diff != "" {
		t.Errorf("rollup after Generate differs from the raw tables (-raw +rollup):\n%s", diff)
	}

	rawDaily := rawDailyRows(t, env.DB.DB)
	if diff := cmp.Diff(rawDaily, dailyRows(t, env.DB.DB)); diff != "" {
		t.Errorf("daily rollup after Generate differs from the raw tables (-raw +rollup):\n%s", diff)
	}

	// Spoil the rollups, then rebuild them.
	if _, err := env.DB.DB.Exec(`UPDATE enrolment_rollup SET submissions = submissions + 7`); err != nil {
		t.Fatalf("spoil rollup: %v", err)
	}
	if _, err := env.DB.DB.Exec(`DELETE FROM enrolment_daily_rollup WHERE kind = 'application'`); err != nil {
		t.Fatalf("spoil daily rollup: %v", err)
	}
	if _, err := dashboardenrolment.Rebuild(ctx, env.DB.DB); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	if diff := cmp.Diff(raw, rollupRows(t, env.DB.DB)); diff != "" {
		t.Errorf("rollup after Rebuild differs from the raw tables (-raw +rollup):\n%s", diff)
	}
	if diff := cmp.Diff(rawDaily, dailyRows(t, env.DB.DB)); diff != "" {
		t.Errorf("daily rollup after Rebuild differs from the raw tables (-raw +rollup):\n%s", diff)
	}
}
