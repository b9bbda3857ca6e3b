package enrolment_test

import (
	"context"
	"slices"
	"testing"
	"time"

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

// rollupRows sums the rollup over shards, as the readers do. A shard row
// may be negative when a record left the figures from another backend.
func rollupRows(t *testing.T, db *sqlx.DB) []rollupRow {
	t.Helper()
	var rows []rollupRow
	err := db.Select(&rows, `SELECT kind, enrolment_year, CAST(hour AS text) AS hour, district_code, street_code,
		kindergarten_id, category, supplementary, sum(submissions) AS submissions FROM enrolment_rollup
		GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING sum(submissions) <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8`)
	if err != nil {
		t.Fatalf("read rollup: %v", err)
	}
	return rows
}

// rawRows counts the raw tables per rollup key with correlated look-ups
// instead of the joins the triggers and Rebuild use. Applications count
// unless they are returned or deleted.
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
		  FROM application a WHERE status <> 'returned' AND status <> 'deleted' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
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
		sum(submissions) AS submissions FROM enrolment_daily_rollup
		GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(submissions) <> 0 ORDER BY 1, 2, 3, 4, 5, 6`)
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
		  FROM application WHERE status <> 'returned' AND status <> 'deleted' GROUP BY 1, 2, 3, 4, 5, 6
		) raw ORDER BY 1, 2, 3, 4, 5, 6`)
	if err != nil {
		t.Fatalf("count raw rows per day: %v", err)
	}
	return rows
}

// sameAsRaw compares both rollups with the raw tables after step.
func sameAsRaw(t *testing.T, db *sqlx.DB, step string) {
	t.Helper()
	if diff := cmp.Diff(rawRows(t, db), rollupRows(t, db)); diff != "" {
		t.Errorf("rollup after %s differs from the raw tables (-raw +rollup):\n%s", step, diff)
	}
	if diff := cmp.Diff(rawDailyRows(t, db), dailyRows(t, db)); diff != "" {
		t.Errorf("daily rollup after %s differs from the raw tables (-raw +rollup):\n%s", step, diff)
	}
}

// totals returns the registrations and applications the rollup counts.
func totals(t *testing.T, db *sqlx.DB) (registrations, applications int64) {
	t.Helper()
	for _, row := range rollupRows(t, db) {
		if row.Kind == "registration" {
			registrations += row.Submissions
		} else {
			applications += row.Submissions
		}
	}
	return registrations, applications
}

// otherShardConn returns a connection whose backend writes to a rollup
// shard that holds no row yet, so the rows it takes out of the figures
// make that shard negative.
func otherShardConn(t *testing.T, db *sqlx.DB) *sqlx.Conn {
	t.Helper()
	ctx := context.Background()
	var used []int
	if err := db.Select(&used, `SELECT DISTINCT shard FROM enrolment_rollup`); err != nil {
		t.Fatalf("read rollup shards: %v", err)
	}
	for range 32 {
		conn, err := db.Connx(ctx)
		if err != nil {
			t.Fatalf("open connection: %v", err)
		}
		var shard int
		if err := conn.GetContext(ctx, &shard, `SELECT pg_backend_pid() % 8`); err != nil {
			t.Fatalf("read backend shard: %v", err)
		}
		if !slices.Contains(used, shard) {
			t.Cleanup(func() { conn.Close() })
			return conn
		}
		// Keep the connection open, so the pool opens a new backend.
		t.Cleanup(func() { conn.Close() })
	}
	t.Fatalf("no backend of 32 writes to a shard outside %v", used)
	return nil
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
	sameAsRaw(t, env.DB.DB, "the inserts")
	if registered, applied := totals(t, env.DB.DB); registered != 6 || applied != 4 {
		t.Errorf("rollup totals = %d registrations and %d applications, want 6 and 4", registered, applied)
	}

	// Return application 0 from a backend of another shard, then let the
	// child apply again two hours later: the child counts once.
	other := otherShardConn(t, env.DB.DB)
	if _, err := other.ExecContext(ctx, `UPDATE application SET status = 'returned' WHERE application_number = $1`,
		applications[0].Number); err != nil {
		t.Fatalf("return application: %v", err)
	}
	sameAsRaw(t, env.DB.DB, "a return")
	again := applications[0]
	again.Number = enrol.FormatApplicationNumber(again.Year, again.DistrictCode, 9_000_001)
	again.AcceptedAt = again.AcceptedAt.Add(2 * time.Hour)
	if _, err := store.InsertBatch(ctx, nil, []enrol.ApplicationRecord{again}); err != nil {
		t.Fatalf("InsertBatch of the re-application: %v", err)
	}
	sameAsRaw(t, env.DB.DB, "a re-application")

	// Delete application 1 the way an approved deletion does: the row
	// stays, marked deleted.
	if _, err := env.DB.DB.Exec(`UPDATE application SET status = 'deleted' WHERE application_number = $1`,
		applications[1].Number); err != nil {
		t.Fatalf("delete application: %v", err)
	}
	sameAsRaw(t, env.DB.DB, "an application deletion")

	// Delete registration 3 with its application, in the order an approved
	// deletion uses.
	tx := env.DB.DB.MustBegin()
	tx.MustExec(`DELETE FROM application WHERE registration_number = $1`, registrations[3].Number)
	tx.MustExec(`DELETE FROM registration WHERE registration_number = $1`, registrations[3].Number)
	if err := tx.Commit(); err != nil {
		t.Fatalf("delete registration: %v", err)
	}
	sameAsRaw(t, env.DB.DB, "a registration deletion")

	// Admitting application 2 keeps it counted, and marking it
	// supplementary moves it to another rollup key.
	if _, err := env.DB.DB.Exec(`UPDATE application SET status = 'admitted' WHERE application_number = $1`,
		applications[2].Number); err != nil {
		t.Fatalf("admit application: %v", err)
	}
	if _, err := env.DB.DB.Exec(`UPDATE application SET supplementary = true WHERE application_number = $1`,
		applications[2].Number); err != nil {
		t.Fatalf("mark application supplementary: %v", err)
	}
	sameAsRaw(t, env.DB.DB, "an admission and a key change")

	// 6 registrations less 1 deleted. 4 applications less 1 returned,
	// 1 deleted and 1 deleted with its registration, plus 1 re-application.
	if registered, applied := totals(t, env.DB.DB); registered != 5 || applied != 2 {
		t.Errorf("rollup totals = %d registrations and %d applications, want 5 and 2", registered, applied)
	}
	var negative int
	if err := env.DB.DB.Get(&negative, `SELECT count(*) FROM enrolment_rollup WHERE submissions < 0`); err != nil {
		t.Fatalf("count negative shard rows: %v", err)
	}
	if negative == 0 {
		t.Errorf("no negative shard row: the return did not run in a shard of its own")
	}
}

// changeGeneratedRecords returns, deletes and re-applies some generated
// records with the statements the review module uses, a few rows each.
func changeGeneratedRecords(t *testing.T, db *sqlx.DB) {
	t.Helper()
	statements := []string{
		// Return every tenth application and let half of those children
		// apply again a day later, with the number's 9 turned into 8.
		`UPDATE application SET status = 'returned' WHERE key_id = 'generated' AND right(application_number, 1) = '3'`,
		`INSERT INTO application (application_number, registration_number, enrolment_year, child_index, district_code,
		     entry_id, category_code, campus_choices, schema_version, key_id, payload_hash, owner_index,
		     supplementary, status, accepted_at)
		 SELECT overlay(application_number PLACING '8' FROM 7 FOR 1), registration_number, enrolment_year, child_index,
		     district_code, entry_id, category_code, campus_choices, schema_version, key_id, payload_hash, owner_index,
		     supplementary, 'recorded', accepted_at + interval '1 day'
		 FROM application WHERE status = 'returned' AND right(application_number, 2) IN ('03', '23', '43', '63', '83')`,
		// Mark some applications deleted, admitted ones among them.
		`UPDATE application SET status = 'deleted' WHERE key_id = 'generated' AND right(application_number, 2) IN ('00', '15')`,
		// Delete some registrations with their applications.
		`DELETE FROM application WHERE registration_number IN (SELECT registration_number FROM registration
		     WHERE key_id = 'generated' AND right(registration_number, 2) = '07')`,
		`DELETE FROM registration WHERE key_id = 'generated' AND right(registration_number, 2) = '07'`,
	}
	for _, statement := range statements {
		if _, err := db.Exec(statement); err != nil {
			t.Fatalf("change generated records: %v\n%s", err, statement)
		}
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
	sameAsRaw(t, env.DB.DB, "Generate")

	changeGeneratedRecords(t, env.DB.DB)
	sameAsRaw(t, env.DB.DB, "returns, deletions and re-applications")
	for _, status := range []string{"returned", "deleted"} {
		if n := env.Count(t, `SELECT count(*) FROM application WHERE status = $1`, status); n == 0 {
			t.Errorf("no %s application: the test changed nothing", status)
		}
	}
	raw := rawRows(t, env.DB.DB)
	rawDaily := rawDailyRows(t, env.DB.DB)

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
