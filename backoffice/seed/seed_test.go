package seed

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/migrations"
	"github.com/sh-preschool/preschool/shared/testenv"
)

// testNow is a December day, when the next enrolment year (2027) is the
// current one and its windows lie in the coming spring.
var testNow = time.Date(2026, time.December, 4, 10, 0, 0, 0, shanghai)

const (
	wantDistricts  = 16
	wantStreets    = 234
	wantCommittees = 6509
	// wantCategories is every household category but district_hukou.
	wantCategories = 12
)

func runSeed(t *testing.T, db *sqlx.DB, options Options) Summary {
	t.Helper()
	started := time.Now()
	summary, err := Run(context.Background(), db, options)
	if err != nil {
		t.Fatalf("Run(%+v): %v", options, err)
	}
	t.Logf("Run took %v: %+v", time.Since(started).Round(time.Millisecond), summary)
	return summary
}

func count(t *testing.T, db *sqlx.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// checksums returns an md5 of the seeded tables' rows in a fixed order, with
// the columns that depend on the wall clock or on identity sequences left
// out.
func checksums(t *testing.T, db *sqlx.DB) map[string]string {
	t.Helper()
	queries := map[string]string{
		"kindergarten": `SELECT md5(string_agg(concat_ws('|', id, org_code, name, district_code, street_code,
			ownership, inclusive, level, operating_status, education_group), E'\n' ORDER BY id)) FROM kindergarten`,
		"campus": `SELECT md5(string_agg(concat_ws('|', id, kindergarten_id, name, is_main, district_code, street_code,
			address, longitude, latitude), E'\n' ORDER BY id)) FROM campus`,
		"seat_plan": `SELECT md5(string_agg(concat_ws('|', campus_id, enrolment_year, grade, seats), E'\n'
			ORDER BY campus_id, enrolment_year, grade)) FROM seat_plan`,
		"matching_rule": `SELECT md5(string_agg(concat_ws('|', enrolment_year, district_code, mode, street_code,
			coalesce(committee_code, '-'), campus_id), E'\n'
			ORDER BY enrolment_year, district_code, street_code, committee_code, campus_id)) FROM matching_rule`,
		"enrolment_year": `SELECT md5(string_agg(concat_ws('|', year, birth_from, birth_to, registration_opens_at,
			registration_closes_at, application_opens_at, application_closes_at, admission_notice_by), E'\n'
			ORDER BY year)) FROM enrolment_year`,
	}
	sums := map[string]string{}
	for table, query := range queries {
		var sum string
		if err := db.Get(&sum, query); err != nil {
			t.Fatalf("checksum of %s: %v", table, err)
		}
		sums[table] = sum
	}
	return sums
}

func TestRunSeedsDatabase(t *testing.T) {
	db := testenv.NewDatabase(t).DB
	options := Options{Now: testNow, Kindergartens: 1600}
	summary := runSeed(t, db, options)

	t.Run("summary counts", func(t *testing.T) {
		if summary.Districts != wantDistricts {
			t.Errorf("Districts = %d, want %d", summary.Districts, wantDistricts)
		}
		if summary.Streets != wantStreets {
			t.Errorf("Streets = %d, want %d", summary.Streets, wantStreets)
		}
		if summary.Committees != wantCommittees {
			t.Errorf("Committees = %d, want %d", summary.Committees, wantCommittees)
		}
		if summary.Kindergartens != options.Kindergartens {
			t.Errorf("Kindergartens = %d, want %d", summary.Kindergartens, options.Kindergartens)
		}
		if summary.Campuses < 2200 || summary.Campuses > 2400 {
			t.Errorf("Campuses = %d, want 2200 to 2400", summary.Campuses)
		}
		if summary.Years != 3 {
			t.Errorf("Years = %d, want 3", summary.Years)
		}
		if want := 3 * wantDistricts * wantCategories; summary.Entries != want {
			t.Errorf("Entries = %d, want %d", summary.Entries, want)
		}
		if summary.Forms != 2 {
			t.Errorf("Forms = %d, want 2", summary.Forms)
		}
		if minimum := 3 * 3 * summary.Campuses; summary.SeatPlans < minimum {
			t.Errorf("SeatPlans = %d, want at least %d (three grades, three years)", summary.SeatPlans, minimum)
		}
		if minimum := 3 * wantCommittees; summary.Rules < minimum {
			t.Errorf("Rules = %d, want at least %d (one per committee and year)", summary.Rules, minimum)
		}
	})

	t.Run("table counts", func(t *testing.T) {
		tables := []struct {
			query string
			want  int
		}{
			{`SELECT count(*) FROM district`, wantDistricts},
			{`SELECT count(*) FROM street`, wantStreets},
			{`SELECT count(*) FROM committee`, wantCommittees},
			{`SELECT count(*) FROM kindergarten`, options.Kindergartens},
			{`SELECT count(*) FROM campus`, summary.Campuses},
			{`SELECT count(*) FROM enrolment_year WHERE year IN (2025, 2026, 2027)`, 3},
			{`SELECT count(*) FROM entry WHERE category_code = 'district_hukou'`, 0},
			{`SELECT count(*) FROM entry WHERE matching_mode = 1 AND max_choices = 3 AND published
				AND opens_at IS NULL AND closes_at IS NULL`, 3 * wantDistricts * wantCategories},
			{`SELECT count(*) FROM form_schema WHERE district_code IS NULL AND category_code IS NULL AND version = 1`, 2},
		}
		for _, table := range tables {
			if got := count(t, db, table.query); got != table.want {
				t.Errorf("%s = %d, want %d", table.query, got, table.want)
			}
		}
	})

	t.Run("district order", func(t *testing.T) {
		var names []string
		if err := db.Select(&names, `SELECT name FROM district ORDER BY sort_order`); err != nil {
			t.Fatal(err)
		}
		if len(names) != wantDistricts || names[0] != "黄浦区" || names[len(names)-1] != "崇明区" {
			t.Errorf("districts by sort_order = %v, want 黄浦区 first and 崇明区 last", names)
		}
	})

	t.Run("kindergarten mix", func(t *testing.T) {
		total := float64(options.Kindergartens)
		shares := []struct {
			name     string
			query    string
			min, max float64
		}{
			{"public", `SELECT count(*) FROM kindergarten WHERE ownership = 'public'`, 0.60, 0.70},
			{"浦东新区", `SELECT count(*) FROM kindergarten WHERE district_code = '310115'`, 0.18, 0.26},
			{"黄浦区", `SELECT count(*) FROM kindergarten WHERE district_code = '310101'`, 0.01, 0.04},
			{"崇明区", `SELECT count(*) FROM kindergarten WHERE district_code = '310151'`, 0.01, 0.04},
			{"model", `SELECT count(*) FROM kindergarten WHERE level = 'model'`, 0.03, 0.09},
			{"level1", `SELECT count(*) FROM kindergarten WHERE level = 'level1'`, 0.20, 0.30},
			{"level2", `SELECT count(*) FROM kindergarten WHERE level = 'level2'`, 0.40, 0.50},
			{"level3", `SELECT count(*) FROM kindergarten WHERE level = 'level3'`, 0.06, 0.12},
			{"unrated", `SELECT count(*) FROM kindergarten WHERE level = 'unrated'`, 0.11, 0.19},
			{"private inclusive", `SELECT count(*) FROM kindergarten WHERE ownership = 'private' AND inclusive`, 0.12, 0.23},
		}
		for _, share := range shares {
			got := float64(count(t, db, share.query)) / total
			if got < share.min || got > share.max {
				t.Errorf("%s share = %.3f, want %.2f to %.2f", share.name, got, share.min, share.max)
			}
		}
		if n := count(t, db, `SELECT count(*) FROM kindergarten WHERE ownership = 'public' AND NOT inclusive`); n != 0 {
			t.Errorf("%d public kindergartens are not inclusive, want 0", n)
		}
		privateUnrated := count(t, db, `SELECT count(*) FROM kindergarten WHERE ownership = 'private' AND level = 'unrated'`)
		publicUnrated := count(t, db, `SELECT count(*) FROM kindergarten WHERE ownership = 'public' AND level = 'unrated'`)
		if privateUnrated <= publicUnrated {
			t.Errorf("unrated: %d private, %d public, want more private although there are fewer", privateUnrated, publicUnrated)
		}
		largest := count(t, db, `SELECT count(*) FROM kindergarten GROUP BY district_code ORDER BY count(*) DESC, district_code LIMIT 1`)
		pudong := count(t, db, `SELECT count(*) FROM kindergarten WHERE district_code = '310115'`)
		if pudong != largest {
			t.Errorf("浦东新区 has %d kindergartens, the largest district has %d", pudong, largest)
		}
	})

	t.Run("names and places", func(t *testing.T) {
		checks := []struct {
			name  string
			query string
		}{
			{"duplicate kindergarten names", `SELECT count(*) FROM (SELECT name FROM kindergarten GROUP BY name HAVING count(*) > 1) AS d`},
			{"names without the district prefix", `SELECT count(*) FROM kindergarten AS k JOIN district AS d ON d.code = k.district_code
				WHERE k.name NOT LIKE '上海市' || d.name || '%幼儿园'`},
			{"kindergartens in a street of another district", `SELECT count(*) FROM kindergarten AS k JOIN street AS s ON s.code = k.street_code
				WHERE s.district_code <> k.district_code`},
			{"kindergartens in a street without committees", `SELECT count(*) FROM kindergarten AS k
				WHERE NOT EXISTS (SELECT 1 FROM committee AS c WHERE c.street_code = k.street_code)`},
			{"campuses in a street of another district", `SELECT count(*) FROM campus AS c JOIN street AS s ON s.code = c.street_code
				WHERE s.district_code <> c.district_code`},
			{"campuses in another district than their kindergarten", `SELECT count(*) FROM campus AS c
				JOIN kindergarten AS k ON k.id = c.kindergarten_id WHERE c.district_code <> k.district_code`},
			{"kindergartens without exactly one main campus", `SELECT count(*) FROM kindergarten AS k
				WHERE (SELECT count(*) FROM campus AS c WHERE c.kindergarten_id = k.id AND c.is_main) <> 1`},
			{"kindergartens with more than 3 campuses", `SELECT count(*) FROM (SELECT kindergarten_id FROM campus
				GROUP BY kindergarten_id HAVING count(*) > 3) AS k`},
			{"main campuses not named 本部", `SELECT count(*) FROM campus WHERE is_main <> (name = '本部')`},
			{"branch names repeated within a kindergarten", `SELECT count(*) FROM (SELECT kindergarten_id, name FROM campus
				GROUP BY kindergarten_id, name HAVING count(*) > 1) AS d`},
			{"campus addresses without a number", `SELECT count(*) FROM campus WHERE address !~ '^\S+路[0-9]+(弄[0-9]+)?号$'`},
		}
		for _, check := range checks {
			if n := count(t, db, check.query); n != 0 {
				t.Errorf("%d %s, want 0", n, check.name)
			}
		}
	})

	t.Run("campuses inside their district", func(t *testing.T) {
		shapes := readTestShapes(t)
		var campuses []struct {
			ID           int64   `db:"id"`
			DistrictCode string  `db:"district_code"`
			Longitude    float64 `db:"longitude"`
			Latitude     float64 `db:"latitude"`
		}
		err := db.Select(&campuses, `SELECT id, district_code, longitude::float8 AS longitude, latitude::float8 AS latitude FROM campus ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		outside := 0
		for _, c := range campuses {
			shape, ok := shapes[c.DistrictCode]
			if !ok {
				t.Fatalf("campus %d: district %s has no shape", c.ID, c.DistrictCode)
			}
			if !shape.contains(c.Longitude, c.Latitude) {
				outside++
				if outside <= 5 {
					t.Errorf("campus %d at %.6f,%.6f lies outside district %s", c.ID, c.Longitude, c.Latitude, c.DistrictCode)
				}
			}
		}
		if outside > 0 {
			t.Errorf("%d of %d campuses lie outside their district", outside, len(campuses))
		}
	})

	t.Run("seat plans", func(t *testing.T) {
		checks := []struct {
			name  string
			query string
		}{
			{"campus-years without all of junior, middle and senior", `SELECT count(*) FROM campus AS c
				CROSS JOIN (VALUES (2025), (2026), (2027)) AS y(year)
				WHERE (SELECT count(*) FROM seat_plan AS p WHERE p.campus_id = c.id AND p.enrolment_year = y.year
					AND p.grade IN ('junior', 'middle', 'senior')) <> 3`},
			{"grade plans outside 40 to 200 seats or not in steps of 5", `SELECT count(*) FROM seat_plan
				WHERE grade IN ('junior', 'middle', 'senior') AND (seats < 40 OR seats > 200 OR seats % 5 <> 0)`},
			{"nursery plans outside 15 to 40 seats", `SELECT count(*) FROM seat_plan WHERE grade = 'nursery' AND (seats < 15 OR seats > 40)`},
		}
		for _, check := range checks {
			if n := count(t, db, check.query); n != 0 {
				t.Errorf("%d %s, want 0", n, check.name)
			}
		}
		campuses := float64(summary.Campuses)
		nursery := float64(count(t, db, `SELECT count(*) FROM seat_plan WHERE enrolment_year = 2027 AND grade = 'nursery'`))
		if share := nursery / campuses; share < 0.35 || share > 0.45 {
			t.Errorf("nursery share = %.3f, want 0.35 to 0.45", share)
		}
		mixed := float64(count(t, db, `SELECT count(*) FROM seat_plan WHERE enrolment_year = 2027 AND grade = 'mixed'`))
		if share := mixed / campuses; share == 0 || share > 0.06 {
			t.Errorf("mixed share = %.3f, want above 0 and at most 0.06", share)
		}
	})

	t.Run("matching rules cover every committee", func(t *testing.T) {
		for _, year := range []int{2025, 2026, 2027} {
			uncovered := count(t, db, `SELECT count(*) FROM committee AS c WHERE NOT EXISTS (
				SELECT 1 FROM matching_rule AS r WHERE r.enrolment_year = $1 AND r.mode = 1
					AND r.committee_code = c.code AND r.street_code = c.street_code AND r.district_code = c.district_code)`, year)
			if uncovered != 0 {
				t.Errorf("%d committees have no mode-1 rule in %d, want 0", uncovered, year)
			}
		}
		checks := []struct {
			name  string
			query string
		}{
			{"rules whose campus is not of a public kindergarten", `SELECT count(*) FROM matching_rule AS r
				JOIN campus AS c ON c.id = r.campus_id JOIN kindergarten AS k ON k.id = c.kindergarten_id
				WHERE r.enrolment_year = 2027 AND k.ownership <> 'public'`},
			{"rules whose campus is in another district", `SELECT count(*) FROM matching_rule AS r
				JOIN campus AS c ON c.id = r.campus_id WHERE r.enrolment_year = 2027 AND c.district_code <> r.district_code`},
			{"rules that are not mode 1", `SELECT count(*) FROM matching_rule WHERE mode <> 1`},
			{"committees with more than 3 campuses", `SELECT count(*) FROM (SELECT committee_code FROM matching_rule
				WHERE enrolment_year = 2027 GROUP BY committee_code HAVING count(*) > 3) AS c`},
			{"rules outside the street although the street has a public campus", `SELECT count(*) FROM matching_rule AS r
				JOIN campus AS c ON c.id = r.campus_id
				WHERE r.enrolment_year = 2027 AND c.street_code <> r.street_code AND EXISTS (
					SELECT 1 FROM campus AS c2 JOIN kindergarten AS k2 ON k2.id = c2.kindergarten_id
					WHERE c2.street_code = r.street_code AND k2.ownership = 'public')`},
			{"duplicate rules", `SELECT count(*) FROM (SELECT 1 FROM matching_rule
				GROUP BY enrolment_year, committee_code, campus_id HAVING count(*) > 1) AS d`},
		}
		for _, check := range checks {
			if n := count(t, db, check.query); n != 0 {
				t.Errorf("%d %s, want 0", n, check.name)
			}
		}
	})

	t.Run("org codes", func(t *testing.T) {
		var kindergartens []struct {
			ID           int64  `db:"id"`
			OrgCode      string `db:"org_code"`
			DistrictCode string `db:"district_code"`
			Ownership    string `db:"ownership"`
		}
		if err := db.Select(&kindergartens, `SELECT id, org_code, district_code, ownership FROM kindergarten ORDER BY id`); err != nil {
			t.Fatal(err)
		}
		for _, k := range kindergartens {
			if len(k.OrgCode) != 18 {
				t.Errorf("kindergarten %d: org_code %q has %d characters, want 18", k.ID, k.OrgCode, len(k.OrgCode))
				continue
			}
			if !validCreditCode(k.OrgCode) {
				t.Errorf("kindergarten %d: org_code %s has an invalid check character", k.ID, k.OrgCode)
			}
			if !validOrganisationCode(k.OrgCode[8:17]) {
				t.Errorf("kindergarten %d: org_code %s contains an invalid organisation code", k.ID, k.OrgCode)
			}
			wantPrefix := map[string]string{"public": "12", "private": "52"}[k.Ownership]
			if k.OrgCode[:2] != wantPrefix {
				t.Errorf("kindergarten %d (%s): org_code %s, want prefix %s", k.ID, k.Ownership, k.OrgCode, wantPrefix)
			}
			if k.OrgCode[2:8] != k.DistrictCode {
				t.Errorf("kindergarten %d: org_code %s, want district %s at characters 3 to 8", k.ID, k.OrgCode, k.DistrictCode)
			}
		}
	})

	t.Run("usual windows", func(t *testing.T) {
		var year struct {
			BirthFrom            time.Time `db:"birth_from"`
			BirthTo              time.Time `db:"birth_to"`
			RegistrationOpensAt  time.Time `db:"registration_opens_at"`
			RegistrationClosesAt time.Time `db:"registration_closes_at"`
			ApplicationOpensAt   time.Time `db:"application_opens_at"`
			ApplicationClosesAt  time.Time `db:"application_closes_at"`
			AdmissionNoticeBy    time.Time `db:"admission_notice_by"`
		}
		if err := db.Get(&year, `SELECT birth_from, birth_to, registration_opens_at, registration_closes_at,
			application_opens_at, application_closes_at, admission_notice_by FROM enrolment_year WHERE year = 2027`); err != nil {
			t.Fatal(err)
		}
		instants := []struct {
			name      string
			got, want time.Time
		}{
			{"registration_opens_at", year.RegistrationOpensAt, time.Date(2027, time.April, 23, 12, 0, 0, 0, shanghai)},
			{"registration_closes_at", year.RegistrationClosesAt, time.Date(2027, time.April, 30, 23, 59, 59, 0, shanghai)},
			{"application_opens_at", year.ApplicationOpensAt, time.Date(2027, time.May, 8, 9, 0, 0, 0, shanghai)},
			{"application_closes_at", year.ApplicationClosesAt, time.Date(2027, time.June, 15, 23, 59, 59, 0, shanghai)},
		}
		for _, instant := range instants {
			if !instant.got.Equal(instant.want) {
				t.Errorf("2027 %s = %v, want %v", instant.name, instant.got, instant.want)
			}
		}
		dates := []struct {
			name string
			got  time.Time
			want string
		}{
			{"birth_from", year.BirthFrom, "2023-09-01"},
			{"birth_to", year.BirthTo, "2024-08-31"},
			{"admission_notice_by", year.AdmissionNoticeBy, "2027-08-15"},
		}
		for _, date := range dates {
			if got := date.got.Format(time.DateOnly); got != date.want {
				t.Errorf("2027 %s = %s, want %s", date.name, got, date.want)
			}
		}
		if windowContains(t, db, 2027, testNow) {
			t.Errorf("without Demo, a 2027 window contains %v", testNow)
		}
	})

	t.Run("second run changes nothing", func(t *testing.T) {
		before := checksums(t, db)
		again := runSeed(t, db, options)
		if again != summary {
			t.Errorf("second Run summary = %+v, want %+v", again, summary)
		}
		after := checksums(t, db)
		for table, sum := range before {
			if after[table] != sum {
				t.Errorf("second Run changed table %s", table)
			}
		}
	})
}

func TestRunDeterministic(t *testing.T) {
	options := Options{Now: testNow, Kindergartens: 1600, RandomSeed: 7}
	first := testenv.NewDatabase(t).DB
	second := testenv.NewDatabase(t).DB
	runSeed(t, first, options)
	runSeed(t, second, options)
	firstSums, secondSums := checksums(t, first), checksums(t, second)
	for table, sum := range firstSums {
		if secondSums[table] != sum {
			t.Errorf("table %s differs between two databases seeded with the same options", table)
		}
	}

	third := testenv.NewDatabase(t).DB
	options.RandomSeed = 8
	runSeed(t, third, options)
	if checksums(t, third)["campus"] == firstSums["campus"] {
		t.Errorf("random seeds 7 and 8 gave the same campuses")
	}
}

func TestRunDemoWindows(t *testing.T) {
	db := testenv.NewDatabase(t).DB
	runSeed(t, db, Options{Now: testNow, Demo: true, Kindergartens: 200})
	if !windowContains(t, db, 2027, testNow) {
		t.Errorf("with Demo, the 2027 windows do not contain %v", testNow)
	}
	if windowContains(t, db, 2026, testNow) {
		t.Errorf("with Demo, a 2026 window contains %v, want only the current year opened", testNow)
	}
	var registrationCloses, applicationCloses time.Time
	if err := db.QueryRow(`SELECT registration_closes_at, application_closes_at FROM enrolment_year WHERE year = 2027`).
		Scan(&registrationCloses, &applicationCloses); err != nil {
		t.Fatal(err)
	}
	if want := testNow.AddDate(0, 0, 30); !registrationCloses.Equal(want) {
		t.Errorf("registration_closes_at = %v, want %v", registrationCloses, want)
	}
	if want := testNow.AddDate(0, 0, 60); !applicationCloses.Equal(want) {
		t.Errorf("application_closes_at = %v, want %v", applicationCloses, want)
	}

	// A demo started another day re-opens the windows around that day.
	later := testNow.AddDate(0, 2, 0)
	runSeed(t, db, Options{Now: later, Demo: true, Kindergartens: 200})
	if !windowContains(t, db, 2027, later) {
		t.Errorf("after a second demo Run, the 2027 windows do not contain %v", later)
	}
}

func TestRunRejectsTooFewKindergartens(t *testing.T) {
	db := testenv.NewDatabase(t).DB
	_, err := Run(context.Background(), db, Options{Now: testNow, Kindergartens: 15})
	if err == nil || !strings.Contains(err.Error(), "Kindergartens 15") {
		t.Errorf("Run with 15 kindergartens: error = %v, want one naming Kindergartens 15", err)
	}
	if n := count(t, db, `SELECT count(*) FROM kindergarten`); n != 0 {
		t.Errorf("after the rejected Run, kindergarten has %d rows, want 0", n)
	}
}

func TestLoadDivisionsIdempotent(t *testing.T) {
	db := testenv.NewDatabase(t).DB
	for range 2 {
		if err := LoadDivisions(context.Background(), db); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM committee`); n != wantCommittees {
		t.Errorf("committee rows = %d, want %d", n, wantCommittees)
	}
	if n := count(t, db, `SELECT count(*) FROM kindergarten`); n != 0 {
		t.Errorf("kindergarten rows = %d, want 0 after LoadDivisions", n)
	}
}

// windowContains reports whether both the registration and the application
// window of year contain now.
func windowContains(t *testing.T, db *sqlx.DB, year int, now time.Time) bool {
	t.Helper()
	var contains bool
	err := db.Get(&contains, `SELECT registration_opens_at <= $2 AND $2 <= registration_closes_at
		AND application_opens_at <= $2 AND $2 <= application_closes_at
		FROM enrolment_year WHERE year = $1`, year, now)
	if err != nil {
		t.Fatalf("read the windows of %d: %v", year, err)
	}
	return contains
}

func TestCurrentYear(t *testing.T) {
	utc := func(value string) time.Time {
		parsed, err := time.Parse(time.RFC3339, value)
		if err != nil {
			t.Fatal(err)
		}
		return parsed
	}
	tests := []struct {
		name string
		now  time.Time
		want int
	}{
		{"December", utc("2026-12-04T10:00:00+08:00"), 2027},
		{"during registration", utc("2027-04-24T09:00:00+08:00"), 2027},
		{"1 September", utc("2027-09-01T00:00:00+08:00"), 2028},
		{"last second of August", utc("2027-08-31T23:59:59+08:00"), 2027},
		{"1 September in Shanghai, 31 August in UTC", utc("2027-08-31T16:00:00Z"), 2028},
		{"31 August in Shanghai and UTC", utc("2027-08-31T15:59:59Z"), 2027},
		{"new year in Shanghai, old year in UTC", utc("2026-12-31T16:30:00Z"), 2027},
		{"1 January", utc("2027-01-01T00:00:00+08:00"), 2027},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			if got := CurrentYear(test.now); got != test.want {
				t.Errorf("CurrentYear(%v) = %d, want %d", test.now, got, test.want)
			}
		})
	}
}

// testShape is the test's own reading of districts.geojson, checked with
// the winding-number rule rather than Run's even-odd ray casting.
type testShape [][][][2]float64

func readTestShapes(t *testing.T) map[string]testShape {
	t.Helper()
	body, err := migrations.Seed.ReadFile("seed/shanghai/districts.geojson")
	if err != nil {
		t.Fatal(err)
	}
	var collection struct {
		Features []struct {
			Properties map[string]string `json:"properties"`
			Geometry   struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(body, &collection); err != nil {
		t.Fatal(err)
	}
	shapes := map[string]testShape{}
	for _, feature := range collection.Features {
		var shape testShape
		if feature.Geometry.Type == "Polygon" {
			var rings [][][2]float64
			if err := json.Unmarshal(feature.Geometry.Coordinates, &rings); err != nil {
				t.Fatal(err)
			}
			shape = testShape{rings}
		} else if err := json.Unmarshal(feature.Geometry.Coordinates, &shape); err != nil {
			t.Fatal(err)
		}
		shapes[feature.Properties["code"]] = shape
	}
	return shapes
}

// contains is true when the point has a non-zero winding number around the
// outer ring of a polygon and a zero one around each of its holes.
func (s testShape) contains(lon, lat float64) bool {
	for _, rings := range s {
		if windingNumber(rings[0], lon, lat) == 0 {
			continue
		}
		inHole := false
		for _, hole := range rings[1:] {
			if windingNumber(hole, lon, lat) != 0 {
				inHole = true
			}
		}
		if !inHole {
			return true
		}
	}
	return false
}

func windingNumber(ring [][2]float64, lon, lat float64) int {
	// isLeft is positive when the point lies left of the edge a→b.
	isLeft := func(a, b [2]float64) float64 {
		return (b[0]-a[0])*(lat-a[1]) - (lon-a[0])*(b[1]-a[1])
	}
	winding := 0
	for i := range ring {
		a, b := ring[i], ring[(i+1)%len(ring)]
		if a[1] <= lat {
			if b[1] > lat && isLeft(a, b) > 0 {
				winding++
			}
		} else if b[1] <= lat && isLeft(a, b) < 0 {
			winding--
		}
	}
	return winding
}
