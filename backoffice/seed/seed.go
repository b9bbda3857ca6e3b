// Package seed fills a migrated database with Shanghai's administrative
// divisions and generated demo data: kindergartens (园所), campuses (办园点),
// seat plans, enrolment years, entries, matching rules and the city-wide form
// schemas. The same options always produce the same rows. Running it again
// with the same options changes nothing, except that Options.Demo moves the
// current year's windows to the new clock.
package seed

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
	_ "time/tzdata" // Asia/Shanghai must load on hosts without a zoneinfo database

	"github.com/jmoiron/sqlx"
)

// Options control what Run generates.
type Options struct {
	Now           time.Time // the clock (zero means time.Now), which tests fix
	Demo          bool      // open the current enrolment year's windows around Now, so a demo can register and apply today
	Kindergartens int       // number of kindergartens, at least one per district (zero means DefaultKindergartens)
	RandomSeed    uint64    // seed of the generator (zero means DefaultRandomSeed), so the same seed gives the same data
}

// Defaults that Run applies to zero Options fields.
const (
	DefaultKindergartens        = 1600
	DefaultRandomSeed    uint64 = 20_250_423
)

// Summary is the number of rows in each table after Run, including rows that
// Run did not create.
type Summary struct {
	Districts, Streets, Committees, Kindergartens, Campuses, SeatPlans, Years, Entries, Rules, Forms int
}

// Streams of the PCG generator. Each kind of data draws from its own stream,
// so that changing how one kind is generated leaves the others unchanged.
const (
	streamKindergartens uint64 = 1
	streamSeatPlans     uint64 = 1000 // plus the enrolment year
)

// seedLockKey is the advisory lock that serialises concurrent seed runs on one
// database. database.Migrate uses 7_140_001.
const seedLockKey = 7_140_002

// shanghai is China Standard Time, which has had no daylight saving since
// 1991, so the fixed-offset fallback gives the same instants for every
// enrolment year this package generates.
var shanghai = loadShanghai()

func loadShanghai() *time.Location {
	location, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*60*60)
	}
	return location
}

// CurrentYear returns the enrolment year whose season is next or running: the
// year of now in Shanghai if now is before 1 September 00:00 Shanghai time,
// else the next year.
func CurrentYear(now time.Time) int {
	local := now.In(shanghai)
	if local.Month() >= time.September {
		return local.Year() + 1
	}
	return local.Year()
}

// Run loads the divisions and generates everything else in one transaction,
// under an advisory lock so that two concurrent runs do not interleave. It is
// idempotent: existing rows are left as they are, except that Options.Demo
// moves the current year's windows around Options.Now. Matching rules are
// generated only for a year that has no mode-1 rules yet.
func Run(ctx context.Context, db *sqlx.DB, options Options) (Summary, error) {
	started := time.Now()
	options, err := options.withDefaults()
	if err != nil {
		return Summary{}, err
	}

	divisions, err := readDivisions()
	if err != nil {
		return Summary{}, err
	}
	shapes, err := readDistrictShapes(divisions.districts)
	if err != nil {
		return Summary{}, err
	}
	generated, err := generateKindergartens(divisions, shapes, options)
	if err != nil {
		return Summary{}, err
	}
	current := CurrentYear(options.Now)
	years := []int{current - 2, current - 1, current}

	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return Summary{}, fmt.Errorf("seed: begin transaction: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, seedLockKey); err != nil {
		return Summary{}, fmt.Errorf("seed: take advisory lock: %w", err)
	}

	if err := insertDivisions(ctx, tx, divisions); err != nil {
		return Summary{}, err
	}
	if err := insertKindergartens(ctx, tx, generated); err != nil {
		return Summary{}, err
	}
	if err := insertYears(ctx, tx, years, options); err != nil {
		return Summary{}, err
	}
	if err := insertSeatPlans(ctx, tx, generated.campuses, years, options.RandomSeed); err != nil {
		return Summary{}, err
	}
	if err := insertEntries(ctx, tx, years); err != nil {
		return Summary{}, err
	}
	if err := insertMatchingRules(ctx, tx, years); err != nil {
		return Summary{}, err
	}
	if err := insertFormSchemas(ctx, tx); err != nil {
		return Summary{}, err
	}

	summary, err := countRows(ctx, tx)
	if err != nil {
		return Summary{}, err
	}
	if err := tx.Commit(); err != nil {
		return Summary{}, fmt.Errorf("seed: commit: %w", err)
	}
	slog.Info("seed finished",
		"years", years, "demo", options.Demo, "random_seed", options.RandomSeed,
		"kindergartens", summary.Kindergartens, "campuses", summary.Campuses,
		"seat_plans", summary.SeatPlans, "entries", summary.Entries, "rules", summary.Rules,
		"elapsed", time.Since(started).Round(time.Millisecond))
	return summary, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Kindergartens == 0 {
		o.Kindergartens = DefaultKindergartens
	}
	if o.RandomSeed == 0 {
		o.RandomSeed = DefaultRandomSeed
	}
	if o.Kindergartens < 0 {
		return o, fmt.Errorf("seed: invalid Kindergartens %d: it must not be negative", o.Kindergartens)
	}
	return o, nil
}

func newRand(seed, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

func countRows(ctx context.Context, tx *sqlx.Tx) (Summary, error) {
	var summary Summary
	counts := []struct {
		table  string
		target *int
	}{
		{"district", &summary.Districts},
		{"street", &summary.Streets},
		{"committee", &summary.Committees},
		{"kindergarten", &summary.Kindergartens},
		{"campus", &summary.Campuses},
		{"seat_plan", &summary.SeatPlans},
		{"enrolment_year", &summary.Years},
		{"entry", &summary.Entries},
		{"matching_rule", &summary.Rules},
		{"form_schema", &summary.Forms},
	}
	for _, count := range counts {
		// The table names are the constants above, never input.
		if err := tx.GetContext(ctx, count.target, `SELECT count(*) FROM `+count.table); err != nil {
			return Summary{}, fmt.Errorf("seed: count %s rows: %w", count.table, err)
		}
	}
	return summary, nil
}
