package monitoring_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/monitoring"
)

// friday is the last generated day of the tests: a school day in the winter
// sickness season.
var friday = time.Date(2026, time.December, 4, 0, 0, 0, 0, time.UTC)

func generate(t *testing.T, db *sqlx.DB, rawDays, rollupDays int) monitoring.GenerateSummary {
	t.Helper()
	summary, err := monitoring.Generate(context.Background(), db, monitoring.GenerateOptions{
		Seed: 7, Children: 12_000, End: friday, RawDays: rawDays, RollupDays: rollupDays,
	})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return summary
}

// rollupRows returns every row of the four rollup tables as text, in key
// order, so two states of the rollups compare with cmp.Diff.
func rollupRows(t *testing.T, db *sqlx.DB) map[string][]string {
	t.Helper()
	queries := map[string]string{
		"attendance_kindergarten_day": `SELECT t::text FROM attendance_kindergarten_day t ORDER BY day, kindergarten_id, grade`,
		"attendance_district_day":     `SELECT t::text FROM attendance_district_day t ORDER BY day, district_code, grade`,
		"arrival_kindergarten_slot":   `SELECT t::text FROM arrival_kindergarten_slot t ORDER BY kindergarten_id, day, slot`,
		"arrival_district_slot":       `SELECT t::text FROM arrival_district_slot t ORDER BY day, district_code, slot`,
	}
	rows := map[string][]string{}
	for table, query := range queries {
		var values []string
		if err := db.Select(&values, query); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		rows[table] = values
	}
	return rows
}

func TestGeneratedRollupsMatchRaw(t *testing.T) {
	env := backofficetest.New(t)
	db := env.DB.DB
	summary := generate(t, db, 7, 14)

	if summary.Children != 12_000 {
		t.Errorf("children = %d, want 12000", summary.Children)
	}
	if summary.RawSchoolDays != 5 {
		t.Errorf("raw school days = %d, want 5 (Monday to Friday)", summary.RawSchoolDays)
	}
	if summary.RollupOnlyDays != 10 {
		t.Errorf("rollup-only school days = %d, want 10", summary.RollupOnlyDays)
	}
	if summary.RawRows != 5*12_000 {
		t.Errorf("raw rows = %d, want %d", summary.RawRows, 5*12_000)
	}

	generated := rollupRows(t, db)
	for table, rows := range generated {
		if len(rows) == 0 {
			t.Errorf("%s is empty after Generate", table)
		}
	}
	rebuilt, err := monitoring.Rebuild(context.Background(), db, friday.AddDate(0, 0, -6), friday)
	if err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	if rebuilt.Days != 5 || rebuilt.RawRows != summary.RawRows {
		t.Errorf("Rebuild read %d days and %d raw rows, want 5 and %d", rebuilt.Days, rebuilt.RawRows, summary.RawRows)
	}
	if diff := cmp.Diff(generated, rollupRows(t, db)); diff != "" {
		t.Errorf("rollups rebuilt from raw rows differ from the generated ones (-generated +rebuilt):\n%s", diff)
	}
}

func TestGenerateIsRepeatable(t *testing.T) {
	env := backofficetest.New(t)
	db := env.DB.DB
	generate(t, db, 3, 0)
	first := rollupRows(t, db)
	generate(t, db, 3, 0)
	if diff := cmp.Diff(first, rollupRows(t, db)); diff != "" {
		t.Errorf("a second run with the same seed differs (-first +second):\n%s", diff)
	}
}

func TestGeneratedPatterns(t *testing.T) {
	env := backofficetest.New(t)
	db := env.DB.DB
	generate(t, db, 7, 0)

	var rainy, dry float64
	err := db.QueryRow(`
		SELECT avg(a.arrival_minute) FILTER (WHERE w.condition = 3),
		       avg(a.arrival_minute) FILTER (WHERE w.condition = 1)
		FROM attendance_day a
		JOIN kindergarten k ON k.id = a.kindergarten_id
		JOIN weather_day w ON w.day = a.day AND w.district_code = k.district_code
		WHERE a.arrival_minute >= 0`).Scan(&rainy, &dry)
	if err != nil {
		t.Skipf("the generated week has no rainy or no sunny day to compare: %v", err)
	}
	if rainy <= dry+3 {
		t.Errorf("mean arrival on rainy days %.1f min, on sunny days %.1f: want rainy days at least 3 minutes later", rainy, dry)
	}

	var nurserySick, seniorSick float64
	err = db.QueryRow(`
		SELECT avg((status = 2)::int) FILTER (WHERE grade = 1), avg((status = 2)::int) FILTER (WHERE grade = 4)
		FROM attendance_day`).Scan(&nurserySick, &seniorSick)
	if err != nil {
		t.Fatal(err)
	}
	if nurserySick <= seniorSick {
		t.Errorf("sick-leave share of 托班 %.4f, of 大班 %.4f: want the youngest sick more often", nurserySick, seniorSick)
	}

	var abnormalWithoutDetail int
	if err := db.Get(&abnormalWithoutDetail, `
		SELECT count(*) FROM attendance_day a
		WHERE a.check_result = 2 AND NOT EXISTS (
			SELECT 1 FROM morning_check_abnormal m
			WHERE m.kindergarten_id = a.kindergarten_id AND m.day = a.day AND m.child_id = a.child_id)`); err != nil {
		t.Fatal(err)
	}
	if abnormalWithoutDetail != 0 {
		t.Errorf("%d abnormal morning checks have no detail row", abnormalWithoutDetail)
	}
}

func TestIsSchoolDay(t *testing.T) {
	for _, test := range []struct {
		day  string
		want bool
	}{
		{"2026-12-04", true},  // Friday
		{"2026-12-05", false}, // Saturday
		{"2026-07-15", false}, // summer holiday
		{"2026-02-02", false}, // winter holiday
		{"2026-10-05", false}, // National Day week
		{"2026-10-08", true},
	} {
		day, _ := time.Parse(time.DateOnly, test.day)
		if got := monitoring.IsSchoolDay(day); got != test.want {
			t.Errorf("IsSchoolDay(%s) = %v, want %v", test.day, got, test.want)
		}
	}
}
