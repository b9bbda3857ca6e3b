package seed

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/migrations"
)

// season is one enrolment year's dates. Dates are "2006-01-02" strings for
// the date columns and instants for the timestamptz columns.
type season struct {
	year                                  int
	birthFrom, birthTo                    string
	registrationOpens, registrationCloses time.Time
	applicationOpens, applicationCloses   time.Time
	admissionNoticeBy                     string
}

// shanghaiSeason returns Shanghai's usual calendar for a year, in Shanghai
// time. It covers children born from 1 September of year−4 to 31 August of
// year−3. Registration (登记) runs from 23 April 12:00 to 30 April 23:59:59,
// application (报名) from 8 May 09:00 to 15 June 23:59:59, and admission
// notices are due by 15 August.
func shanghaiSeason(year int) season {
	return season{
		year:               year,
		birthFrom:          formatDate(year-4, time.September, 1),
		birthTo:            formatDate(year-3, time.August, 31),
		registrationOpens:  time.Date(year, time.April, 23, 12, 0, 0, 0, shanghai),
		registrationCloses: time.Date(year, time.April, 30, 23, 59, 59, 0, shanghai),
		applicationOpens:   time.Date(year, time.May, 8, 9, 0, 0, 0, shanghai),
		applicationCloses:  time.Date(year, time.June, 15, 23, 59, 59, 0, shanghai),
		admissionNoticeBy:  formatDate(year, time.August, 15),
	}
}

// demoSeason opens registration and application an hour before now for 30
// and 60 days. Admission notices stay due by 15 August unless the
// application window closes later, in which case they are due on its last day.
func demoSeason(year int, now time.Time) season {
	s := shanghaiSeason(year)
	s.registrationOpens = now.Add(-time.Hour)
	s.registrationCloses = now.AddDate(0, 0, 30)
	s.applicationOpens = now.Add(-time.Hour)
	s.applicationCloses = now.AddDate(0, 0, 60)
	closesOn := s.applicationCloses.In(shanghai).Format(time.DateOnly)
	if closesOn > s.admissionNoticeBy {
		s.admissionNoticeBy = closesOn
	}
	return s
}

func formatDate(year int, month time.Month, day int) string {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

// insertYears inserts the years that are missing with Shanghai's usual
// calendar and leaves existing rows alone, because the back office may have
// changed their windows. With options.Demo it then moves the current year's
// windows around options.Now, so a demo started on any day can register and
// apply. A later run without Demo keeps those demo windows.
func insertYears(ctx context.Context, tx *sqlx.Tx, years []int, options Options) error {
	var (
		yearColumn                            []int32
		birthFrom, birthTo, admissionNoticeBy []string
		registrationOpens, registrationCloses []time.Time
		applicationOpens, applicationCloses   []time.Time
	)
	for _, year := range years {
		s := shanghaiSeason(year)
		yearColumn = append(yearColumn, int32(year))
		birthFrom = append(birthFrom, s.birthFrom)
		birthTo = append(birthTo, s.birthTo)
		registrationOpens = append(registrationOpens, s.registrationOpens)
		registrationCloses = append(registrationCloses, s.registrationCloses)
		applicationOpens = append(applicationOpens, s.applicationOpens)
		applicationCloses = append(applicationCloses, s.applicationCloses)
		admissionNoticeBy = append(admissionNoticeBy, s.admissionNoticeBy)
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO enrolment_year (year, birth_from, birth_to,
			registration_opens_at, registration_closes_at,
			application_opens_at, application_closes_at, admission_notice_by)
		SELECT year, birth_from::date, birth_to::date, registration_opens_at, registration_closes_at,
			application_opens_at, application_closes_at, admission_notice_by::date
		FROM unnest($1::int4[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
			$6::timestamptz[], $7::timestamptz[], $8::text[])
			AS y(year, birth_from, birth_to, registration_opens_at, registration_closes_at,
				application_opens_at, application_closes_at, admission_notice_by)
		ON CONFLICT (year) DO NOTHING`,
		yearColumn, birthFrom, birthTo, registrationOpens, registrationCloses,
		applicationOpens, applicationCloses, admissionNoticeBy)
	if err != nil {
		return fmt.Errorf("seed: insert enrolment years %v: %w", years, err)
	}

	if !options.Demo {
		return nil
	}
	current := years[len(years)-1]
	s := demoSeason(current, options.Now)
	_, err = tx.ExecContext(ctx, `
		UPDATE enrolment_year SET
			registration_opens_at = $2, registration_closes_at = $3,
			application_opens_at = $4, application_closes_at = $5,
			admission_notice_by = $6::date
		WHERE year = $1`,
		current, s.registrationOpens, s.registrationCloses, s.applicationOpens, s.applicationCloses, s.admissionNoticeBy)
	if err != nil {
		return fmt.Errorf("seed: open the demo windows of enrolment year %d: %w", current, err)
	}
	slog.Info("demo windows opened", "year", current,
		"registration_closes_at", s.registrationCloses, "application_closes_at", s.applicationCloses)
	return nil
}

var grades = []string{"junior", "middle", "senior"}

// insertSeatPlans gives every generated campus a junior (小班), middle (中班)
// and senior (大班) plan per year, and a nursery (托班) or mixed (混龄班) plan
// where the campus has one. Each year draws from its own stream, so a year's
// plans do not depend on which other years are seeded. Existing plans are
// left unchanged.
func insertSeatPlans(ctx context.Context, tx *sqlx.Tx, campuses []campusRow, years []int, seed uint64) error {
	var (
		campusIDs         []int64
		yearColumn, seats []int32
		gradeColumn       []string
	)
	add := func(campusID int64, year int, grade string, count int) {
		campusIDs = append(campusIDs, campusID)
		yearColumn = append(yearColumn, int32(year))
		gradeColumn = append(gradeColumn, grade)
		seats = append(seats, int32(count))
	}
	for _, year := range years {
		rng := newRand(seed, streamSeatPlans+uint64(year))
		for _, c := range campuses {
			maxSeats := maxGradeSeats
			if !c.isMain {
				maxSeats = maxBranchGradeSeats
			}
			for _, grade := range grades {
				add(c.id, year, grade, varySeats(rng.IntN(5), c.gradeSeats, minGradeSeats, maxSeats))
			}
			nurseryStep, mixedStep := rng.IntN(5), rng.IntN(5)
			if c.nurserySeats > 0 {
				add(c.id, year, "nursery", varySeats(nurseryStep, c.nurserySeats, minNurserySeats, maxNurserySeats))
			}
			if c.mixedSeats > 0 {
				add(c.id, year, "mixed", varySeats(mixedStep, c.mixedSeats, minMixedSeats, maxMixedSeats))
			}
		}
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO seat_plan (campus_id, enrolment_year, grade, seats)
		SELECT * FROM unnest($1::int8[], $2::int4[], $3::text[], $4::int4[])
		ON CONFLICT DO NOTHING`, campusIDs, yearColumn, gradeColumn, seats)
	if err != nil {
		return fmt.Errorf("seed: insert seat plans: %w", err)
	}
	return nil
}

// varySeats moves base by step−2 times 5 seats (step is 0 to 4) and keeps the
// result between minSeats and maxSeats.
func varySeats(step, base, minSeats, maxSeats int) int {
	return min(max(base+5*(step-2), minSeats), maxSeats)
}

// insertEntries publishes one entry per year, district and household
// category, with matching mode 1, three choices and the year's application
// window. 本区户籍 (district_hukou) gets no entry, because districts open its
// narrower categories instead.
func insertEntries(ctx context.Context, tx *sqlx.Tx, years []int) error {
	yearColumn := make([]int32, len(years))
	for i, year := range years {
		yearColumn[i] = int32(year)
	}
	// NOTE: points_or_talent_permit and its narrower overseas_talent_permit
	// both get an entry, because only district_hukou is known to be replaced
	// by its narrower forms.
	_, err := tx.ExecContext(ctx, `
		INSERT INTO entry (enrolment_year, district_code, category_code, matching_mode, max_choices,
			opens_at, closes_at, published)
		SELECT y.year, d.code, c.code, 1, 3, NULL, NULL, true
		FROM unnest($1::int4[]) AS y(year)
		CROSS JOIN district AS d
		CROSS JOIN household_category AS c
		WHERE c.code <> 'district_hukou'
		ORDER BY y.year, d.sort_order, c.sort_order
		ON CONFLICT (enrolment_year, district_code, category_code) DO NOTHING`, yearColumn)
	if err != nil {
		return fmt.Errorf("seed: insert entries for %v: %w", years, err)
	}
	return nil
}

// formKinds are the form schema kinds with a city-wide default in
// migrations/seed/forms/{kind}.json.
var formKinds = []string{"registration", "application"}

// insertFormSchemas inserts version 1 of the city-wide registration and
// application forms (no district, no category) for each kind that has no
// city-wide form yet.
func insertFormSchemas(ctx context.Context, tx *sqlx.Tx) error {
	var bodies []string
	for _, kind := range formKinds {
		path := "seed/forms/" + kind + ".json"
		body, err := migrations.Seed.ReadFile(path)
		if err != nil {
			return fmt.Errorf("seed: read %s: %w", path, err)
		}
		if !json.Valid(body) {
			return fmt.Errorf("seed: %s is not valid JSON", path)
		}
		bodies = append(bodies, string(body))
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO form_schema (kind, district_code, category_code, version, body)
		SELECT f.kind, NULL, NULL, 1, f.body::jsonb
		FROM unnest($1::text[], $2::text[]) AS f(kind, body)
		WHERE NOT EXISTS (
			SELECT 1 FROM form_schema AS s
			WHERE s.kind = f.kind AND s.district_code IS NULL AND s.category_code IS NULL)
		ON CONFLICT DO NOTHING`, formKinds, bodies)
	if err != nil {
		return fmt.Errorf("seed: insert form schemas: %w", err)
	}
	return nil
}
