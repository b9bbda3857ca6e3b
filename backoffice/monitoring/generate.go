package monitoring

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
)

// GenerateOptions sets what Generate produces.
type GenerateOptions struct {
	// Seed makes the output repeatable: the same seed, kindergartens and
	// dates give the same rows.
	Seed uint64
	// Children is the number of children spread over the kindergartens'
	// seat plans (550,000 is Shanghai's scale).
	Children int
	// End is the last day generated (a date; the time of day is ignored).
	End time.Time
	// RawDays is how many calendar days up to End get raw rows (and their
	// rollups). School is closed at weekends and in the holidays, so those
	// days get no rows.
	RawDays int
	// RollupDays is how many calendar days before the raw days get rollups
	// only, computed from the same simulation without storing raw rows.
	RollupDays int
}

// GenerateSummary counts what Generate wrote.
type GenerateSummary struct {
	Kindergartens  int
	Children       int
	RawSchoolDays  int
	RawRows        int64
	AbnormalChecks int64
	RollupOnlyDays int
	RollupRows     int64
	WeatherRows    int
	Elapsed        time.Duration
}

// childProfile is a generated child and the habits that shape its days.
type childProfile struct {
	id              int32
	kindergarten    int32
	campus          int64
	grade           int16
	className       string
	sickness        float64 // multiplies the chance of sick leave
	arrivalMinute   float64 // usual arrival, minutes after midnight
	departureMinute float64
}

// generatedKindergarten is a kindergarten with its children and how often
// its system fails to send a day's attendance.
type generatedKindergarten struct {
	Kindergarten
	missRate float64
	children []childProfile
}

// Generate replaces all monitoring data (children, raw rows, rollups,
// weather) with a simulated school year, in one transaction. It models
// weekday patterns (more personal leave on Mondays and Fridays), a winter
// sickness peak, rainy and snowy days with later arrivals, grade
// differences in sickness, and kindergartens whose system misses a day now
// and then. The rollups of every day, raw or not, are aggregated in memory
// from the same simulation; Rebuild recomputes the raw days' rollups from
// the stored rows, and the tests check that both agree.
func Generate(ctx context.Context, db *sqlx.DB, options GenerateOptions) (GenerateSummary, error) {
	started := time.Now()
	summary := GenerateSummary{}
	end := time.Date(options.End.Year(), options.End.Month(), options.End.Day(), 0, 0, 0, 0, time.UTC)
	if options.RawDays < 0 || options.RollupDays < 0 || options.Children <= 0 {
		return summary, fmt.Errorf("generate: invalid options: children %d, raw days %d, rollup days %d", options.Children, options.RawDays, options.RollupDays)
	}
	kindergartens, err := planChildren(ctx, db, options)
	if err != nil {
		return summary, err
	}
	summary.Kindergartens = len(kindergartens)
	for _, k := range kindergartens {
		summary.Children += len(k.children)
	}
	districts, err := districtCodes(ctx, db)
	if err != nil {
		return summary, err
	}

	firstRaw := end.AddDate(0, 0, -options.RawDays+1)
	first := firstRaw.AddDate(0, 0, -options.RollupDays)
	var weather []Weather
	var schoolDays, rawDays []time.Time
	for day := first; !day.After(end); day = day.AddDate(0, 0, 1) {
		weather = append(weather, simulateWeather(options.Seed, day, districts)...)
		if !IsSchoolDay(day) {
			continue
		}
		schoolDays = append(schoolDays, day)
		if !day.Before(firstRaw) {
			rawDays = append(rawDays, day)
		}
	}
	summary.WeatherRows = len(weather)
	summary.RawSchoolDays, summary.RollupOnlyDays = len(rawDays), len(schoolDays)-len(rawDays)
	weatherOf := map[string]Weather{}
	for _, w := range weather {
		weatherOf[w.Day.Format(time.DateOnly)+w.DistrictCode] = w
	}
	simulator := &simulator{seed: options.Seed, kindergartens: kindergartens, weather: weatherOf}

	err = inPgxTx(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `TRUNCATE attendance_day, morning_check_abnormal, attendance_kindergarten_day,
			attendance_district_day, arrival_kindergarten_slot, arrival_district_slot, weather_day, monitoring_child`); err != nil {
			return fmt.Errorf("clear monitoring tables: %w", err)
		}
		if err := storeChildren(ctx, tx, kindergartens); err != nil {
			return err
		}
		if err := storeWeather(ctx, tx, weather); err != nil {
			return err
		}
		// Building the primary key after the load is several times faster
		// than maintaining it row by row; the table is empty after TRUNCATE
		// and nobody sees it before the commit.
		if _, err := tx.Exec(ctx, `ALTER TABLE attendance_day DROP CONSTRAINT attendance_day_pkey`); err != nil {
			return fmt.Errorf("drop the primary key of attendance_day: %w", err)
		}
		raw, abnormal, err := simulator.writeRaw(ctx, tx, rawDays)
		if err != nil {
			return err
		}
		summary.RawRows, summary.AbnormalChecks = raw, abnormal
		if _, err := tx.Exec(ctx, `ALTER TABLE attendance_day ADD PRIMARY KEY (kindergarten_id, day, child_id)`); err != nil {
			return fmt.Errorf("restore the primary key of attendance_day: %w", err)
		}
		summary.RollupRows, err = simulator.writeRollups(ctx, tx, schoolDays)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `ANALYZE attendance_day, morning_check_abnormal, attendance_kindergarten_day,
			attendance_district_day, arrival_kindergarten_slot, arrival_district_slot, weather_day, monitoring_child`)
		return err
	})
	if err != nil {
		return summary, fmt.Errorf("generate: %w", err)
	}
	summary.Elapsed = time.Since(started)
	return summary, nil
}

// IsSchoolDay reports whether kindergartens are open on day: weekdays
// outside the summer holiday (July and August), the winter holiday (from 20
// January to 15 February, a fixed approximation of the lunar new year
// break) and the National Day week (1 to 7 October).
func IsSchoolDay(day time.Time) bool {
	switch day.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	month, date := day.Month(), day.Day()
	switch {
	case month == time.July || month == time.August:
		return false
	case month == time.January && date >= 20, month == time.February && date <= 15:
		return false
	case month == time.October && date <= 7:
		return false
	}
	return true
}

func districtCodes(ctx context.Context, db *sqlx.DB) ([]string, error) {
	var codes []string
	if err := db.SelectContext(ctx, &codes, `SELECT code FROM district ORDER BY code`); err != nil {
		return nil, fmt.Errorf("generate: list districts: %w", err)
	}
	return codes, nil
}

// Class sizes per grade (the city's limits for new classes), used to name
// the classes children are put in.
var classSizes = [...]int{0, 20, 25, 30, 35, 30}

var classPrefixes = [...]string{"", "托", "小", "中", "大", "混龄"}

var chineseNumbers = []string{"一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五", "十六"}

// planChildren spreads options.Children over the campuses in proportion to
// their seat plans of the latest enrolment year, with IDs from 1.
func planChildren(ctx context.Context, db *sqlx.DB, options GenerateOptions) ([]*generatedKindergarten, error) {
	type seatRow struct {
		KindergartenID int64  `db:"kindergarten_id"`
		DistrictCode   string `db:"district_code"`
		StreetCode     string `db:"street_code"`
		CampusID       int64  `db:"campus_id"`
		Grade          string `db:"grade"`
		Seats          int    `db:"seats"`
	}
	const q = `
		SELECT k.id AS kindergarten_id, k.district_code, k.street_code, c.id AS campus_id, p.grade, p.seats
		FROM kindergarten k
		JOIN campus c ON c.kindergarten_id = k.id
		JOIN seat_plan p ON p.campus_id = c.id
		WHERE p.enrolment_year = (SELECT max(enrolment_year) FROM seat_plan) AND p.seats > 0
		ORDER BY k.id, c.id, p.grade`
	var seats []seatRow
	if err := db.SelectContext(ctx, &seats, q); err != nil {
		return nil, fmt.Errorf("generate: read seat plans: %w", err)
	}
	if len(seats) == 0 {
		return nil, fmt.Errorf("generate: no kindergarten has a seat plan; run backoffice seed first")
	}
	total := 0
	for _, row := range seats {
		total += row.Seats
	}
	scale := float64(options.Children) / float64(total)

	var kindergartens []*generatedKindergarten
	byID := map[int64]*generatedKindergarten{}
	var id int32
	assigned, seatsSoFar := 0, 0
	for _, row := range seats {
		k := byID[row.KindergartenID]
		if k == nil {
			rng := rand.New(rand.NewPCG(options.Seed, uint64(row.KindergartenID)<<32))
			// Most systems miss about one day in a hundred, a few far more.
			miss := 0.004 + 0.012*rng.ExpFloat64()
			k = &generatedKindergarten{
				Kindergarten: Kindergarten{ID: row.KindergartenID, DistrictCode: row.DistrictCode, StreetCode: row.StreetCode},
				missRate:     math.Min(miss, 0.15),
			}
			byID[row.KindergartenID] = k
			kindergartens = append(kindergartens, k)
		}
		grade := GradeNames[row.Grade]
		// Rounding the running total keeps the sum exactly at Children.
		seatsSoFar += row.Seats
		count := int(math.Round(float64(seatsSoFar)*scale)) - assigned
		assigned += count
		for i := range count {
			id++
			rng := rand.New(rand.NewPCG(options.Seed^0x9e3779b97f4a7c15, uint64(id)))
			class := i / classSizes[grade]
			name := classPrefixes[grade] + chineseNumbers[min(class, len(chineseNumbers)-1)] + "班"
			k.children = append(k.children, childProfile{
				id: id, kindergarten: int32(row.KindergartenID), campus: row.CampusID, grade: grade, className: name,
				sickness:        math.Exp(0.5*rng.NormFloat64() - 0.125),
				arrivalMinute:   475 + 14*rng.NormFloat64(),
				departureMinute: 975 + 22*rng.NormFloat64(),
			})
		}
	}

	return kindergartens, nil
}

func storeChildren(ctx context.Context, tx pgx.Tx, kindergartens []*generatedKindergarten) error {
	var rows [][]any
	for _, k := range kindergartens {
		for _, child := range k.children {
			rows = append(rows, []any{child.id, k.ID, child.campus, fmt.Sprintf("G%07d", child.id), child.grade, child.className})
		}
	}
	columns := []string{"id", "kindergarten_id", "campus_id", "child_key", "grade", "class_name"}
	if _, err := copyRows(ctx, tx, "monitoring_child", columns, sliceSource(rows)); err != nil {
		return err
	}
	// Ingest creates children after the generated ones.
	_, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('monitoring_child', 'id'), GREATEST((SELECT max(id) FROM monitoring_child), 1))`)
	return err
}

func storeWeather(ctx context.Context, tx pgx.Tx, weather []Weather) error {
	rows := make([][]any, len(weather))
	for i, w := range weather {
		rows[i] = []any{w.Day, w.DistrictCode, w.Condition, w.TemperatureHigh, w.TemperatureLow, w.PrecipitationMM}
	}
	columns := []string{"day", "district_code", "condition", "temperature_high", "temperature_low", "precipitation_mm"}
	_, err := copyRows(ctx, tx, "weather_day", columns, sliceSource(rows))
	return err
}
