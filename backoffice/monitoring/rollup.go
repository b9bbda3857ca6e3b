package monitoring

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// counter is one count column of the attendance rollups with the aggregate
// that computes it from raw rows: a is attendance_day and m the
// morning_check_abnormal row of the same child and day, if any.
type counter struct {
	column    string
	aggregate string
}

// Counters lists the count columns of attendance_kindergarten_day and
// attendance_district_day, in table order.
var counters = []counter{
	{"expected", "count(*)"},
	{"present", "count(*) FILTER (WHERE a.status = 1)"},
	{"sick", "count(*) FILTER (WHERE a.status = 2)"},
	{"personal", "count(*) FILTER (WHERE a.status = 3)"},
	{"not_checked", "count(*) FILTER (WHERE a.status = 0)"},
	{"sick_disease", "count(*) FILTER (WHERE a.status = 2 AND a.sick_type = 1)"},
	{"sick_symptom", "count(*) FILTER (WHERE a.status = 2 AND a.sick_type = 2)"},
	{"sick_other", "count(*) FILTER (WHERE a.status = 2 AND a.sick_type = 3)"},
	{"morning_checked", "count(*) FILTER (WHERE a.check_result <> 0)"},
	{"morning_normal", "count(*) FILTER (WHERE a.check_result = 1)"},
	{"morning_abnormal", "count(*) FILTER (WHERE a.check_result = 2)"},
	{"abnormal_sent_home", "count(*) FILTER (WHERE a.check_result = 2 AND m.sent_home)"},
	{"reason_temperature", "count(*) FILTER (WHERE a.check_result = 2 AND m.reason = 1)"},
	{"reason_mouth", "count(*) FILTER (WHERE a.check_result = 2 AND m.reason = 2)"},
	{"reason_eyes", "count(*) FILTER (WHERE a.check_result = 2 AND m.reason = 3)"},
	{"reason_skin_hands", "count(*) FILTER (WHERE a.check_result = 2 AND m.reason = 4)"},
	{"reason_skin_face", "count(*) FILTER (WHERE a.check_result = 2 AND m.reason = 5)"},
	{"reason_other", "count(*) FILTER (WHERE a.check_result = 2 AND m.reason = 6)"},
}

// CounterColumns returns the count columns of the attendance rollups, in
// table order.
func CounterColumns() []string {
	columns := make([]string, len(counters))
	for i, c := range counters {
		columns[i] = c.column
	}
	return columns
}

func joinCounters(format func(counter) string) string {
	parts := make([]string, len(counters))
	for i, c := range counters {
		parts[i] = format(c)
	}
	return strings.Join(parts, ", ")
}

const rawJoin = `attendance_day a
	LEFT JOIN morning_check_abnormal m
	       ON m.kindergarten_id = a.kindergarten_id AND m.day = a.day AND m.child_id = a.child_id`

// The refresh of one kindergarten ($1) on some days ($2) runs in two
// statements: the first deletes the kindergarten's rows and subtracts them
// from the district rows ($3 is the district), the second recomputes them
// from raw rows and adds them back. Adding and subtracting, instead of
// recomputing the district rows, keeps concurrent batches of other
// kindergartens of the district correct without a lock on the district.
// The caller holds the kindergarten's row lock, so no other batch of this
// kindergarten interleaves. Two statements are needed because the
// sub-statements of one WITH query do not see each other's changes, so a
// delete and an insert of the same key in one statement conflict.
var (
	removeKindergartenQuery = `
WITH old AS (
	DELETE FROM attendance_kindergarten_day WHERE kindergarten_id = $1 AND day = ANY ($2)
	RETURNING day, grade, COLUMNS
)
INSERT INTO attendance_district_day (day, district_code, grade, COLUMNS)
SELECT day, $3, grade, ` + joinCounters(func(c counter) string { return "-" + c.column }) + ` FROM old ORDER BY day, grade
ON CONFLICT (day, district_code, grade) DO UPDATE SET ` + addToDistrict
	addKindergartenQuery = `
WITH fresh AS (
	SELECT a.day, a.grade, ` + joinCounters(func(c counter) string { return c.aggregate + " AS " + c.column }) + `
	FROM ` + rawJoin + `
	WHERE a.kindergarten_id = $1 AND a.day = ANY ($2)
	GROUP BY a.day, a.grade
), inserted AS (
	INSERT INTO attendance_kindergarten_day (day, kindergarten_id, grade, district_code, street_code, COLUMNS)
	SELECT day, $1, grade, $3, $4, COLUMNS FROM fresh
	RETURNING day, grade, COLUMNS
)
INSERT INTO attendance_district_day (day, district_code, grade, COLUMNS)
SELECT day, $3, grade, COLUMNS FROM inserted ORDER BY day, grade
ON CONFLICT (day, district_code, grade) DO UPDATE SET ` + addToDistrict
	addToDistrict = joinCounters(func(c counter) string {
		return c.column + " = attendance_district_day." + c.column + " + excluded." + c.column
	})
)

// The same two steps for the 10-minute arrival slots.
const (
	removeSlotsQuery = `
WITH old AS (
	DELETE FROM arrival_kindergarten_slot WHERE kindergarten_id = $1 AND day = ANY ($2)
	RETURNING day, slot, arrivals, departures
)
INSERT INTO arrival_district_slot (day, district_code, slot, arrivals, departures)
SELECT day, $3, slot, -arrivals, -departures FROM old ORDER BY day, slot
ON CONFLICT (day, district_code, slot) DO UPDATE SET
	arrivals = arrival_district_slot.arrivals + excluded.arrivals,
	departures = arrival_district_slot.departures + excluded.departures`
	addSlotsQuery = `
WITH fresh AS (
	SELECT day, slot, sum(arrivals) AS arrivals, sum(departures) AS departures
	FROM (SELECT day, arrival_minute / 10 AS slot, 1 AS arrivals, 0 AS departures
	      FROM attendance_day WHERE kindergarten_id = $1 AND day = ANY ($2) AND arrival_minute >= 0
	      UNION ALL
	      SELECT day, departure_minute / 10, 0, 1
	      FROM attendance_day WHERE kindergarten_id = $1 AND day = ANY ($2) AND departure_minute >= 0) times
	GROUP BY day, slot
), inserted AS (
	INSERT INTO arrival_kindergarten_slot (kindergarten_id, day, slot, arrivals, departures)
	SELECT $1, day, slot, arrivals, departures FROM fresh
	RETURNING day, slot, arrivals, departures
)
INSERT INTO arrival_district_slot (day, district_code, slot, arrivals, departures)
SELECT day, $3, slot, arrivals, departures FROM inserted ORDER BY day, slot
ON CONFLICT (day, district_code, slot) DO UPDATE SET
	arrivals = arrival_district_slot.arrivals + excluded.arrivals,
	departures = arrival_district_slot.departures + excluded.departures`
)

func init() {
	columns := strings.Join(CounterColumns(), ", ")
	removeKindergartenQuery = strings.ReplaceAll(removeKindergartenQuery, "COLUMNS", columns)
	addKindergartenQuery = strings.ReplaceAll(addKindergartenQuery, "COLUMNS", columns)
}

// refreshRollups brings the rollups of one kindergarten's days up to date
// with its raw rows, inside the caller's transaction.
func refreshRollups(ctx context.Context, tx *sqlx.Tx, kindergarten Kindergarten, days []time.Time) error {
	steps := []struct {
		query string
		args  []any
	}{
		{removeKindergartenQuery, []any{kindergarten.ID, days, kindergarten.DistrictCode}},
		{addKindergartenQuery, []any{kindergarten.ID, days, kindergarten.DistrictCode, kindergarten.StreetCode}},
		{removeSlotsQuery, []any{kindergarten.ID, days, kindergarten.DistrictCode}},
		{addSlotsQuery, []any{kindergarten.ID, days, kindergarten.DistrictCode}},
		// Empty district rows are deleted, because a rebuild would not
		// create them: a grade whose last child moved, a slot without
		// arrivals or departures.
		{`DELETE FROM attendance_district_day WHERE district_code = $1 AND day = ANY ($2) AND expected = 0`, []any{kindergarten.DistrictCode, days}},
		{`DELETE FROM arrival_district_slot WHERE district_code = $1 AND day = ANY ($2) AND arrivals = 0 AND departures = 0`, []any{kindergarten.DistrictCode, days}},
	}
	for _, step := range steps {
		if _, err := tx.ExecContext(ctx, step.query, step.args...); err != nil {
			return fmt.Errorf("refresh rollups of kindergarten %d: %w", kindergarten.ID, err)
		}
	}
	return nil
}

// RebuildSummary counts what Rebuild read and wrote.
type RebuildSummary struct {
	Days                 int
	RawRows              int64
	KindergartenRows     int64
	DistrictRows         int64
	KindergartenSlotRows int64
	DistrictSlotRows     int64
	Elapsed              time.Duration
}

// Rebuild recomputes every rollup row of the days from..to (inclusive) that
// have raw rows. Days without raw rows keep their rollups, because a
// generated year has rollups for days whose raw rows were never stored. It
// holds a SHARE lock on attendance_day, so ingest waits until it commits.
func Rebuild(ctx context.Context, db *sqlx.DB, from, to time.Time) (RebuildSummary, error) {
	started := time.Now()
	summary := RebuildSummary{}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return summary, err
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx, `LOCK TABLE attendance_day IN SHARE MODE`); err != nil {
		return summary, fmt.Errorf("lock attendance_day: %w", err)
	}
	var days []time.Time
	if err := tx.SelectContext(ctx, &days, `SELECT DISTINCT day FROM attendance_day WHERE day BETWEEN $1 AND $2 ORDER BY day`, from, to); err != nil {
		return summary, fmt.Errorf("list days with raw rows: %w", err)
	}
	summary.Days = len(days)
	if len(days) == 0 {
		return summary, tx.Commit()
	}

	steps := []struct {
		query string
		rows  *int64
	}{
		{`DELETE FROM attendance_kindergarten_day WHERE day = ANY ($1)`, nil},
		{`DELETE FROM attendance_district_day WHERE day = ANY ($1)`, nil},
		{`DELETE FROM arrival_kindergarten_slot WHERE day = ANY ($1)`, nil},
		{`DELETE FROM arrival_district_slot WHERE day = ANY ($1)`, nil},
		{`INSERT INTO attendance_kindergarten_day (day, kindergarten_id, grade, district_code, street_code, ` + strings.Join(CounterColumns(), ", ") + `)
		  SELECT a.day, a.kindergarten_id, a.grade, k.district_code, k.street_code, ` +
			joinCounters(func(c counter) string { return c.aggregate }) + `
		  FROM ` + rawJoin + ` JOIN kindergarten k ON k.id = a.kindergarten_id
		  WHERE a.day = ANY ($1)
		  GROUP BY a.day, a.kindergarten_id, a.grade, k.district_code, k.street_code`, &summary.KindergartenRows},
		{`INSERT INTO attendance_district_day (day, district_code, grade, ` + strings.Join(CounterColumns(), ", ") + `)
		  SELECT day, district_code, grade, ` + joinCounters(func(c counter) string { return "sum(" + c.column + ")" }) + `
		  FROM attendance_kindergarten_day WHERE day = ANY ($1)
		  GROUP BY day, district_code, grade`, &summary.DistrictRows},
		{`INSERT INTO arrival_kindergarten_slot (kindergarten_id, day, slot, arrivals, departures)
		  SELECT t.kindergarten_id, t.day, t.slot, sum(t.arrivals), sum(t.departures)
		  FROM (SELECT day, kindergarten_id, arrival_minute / 10 AS slot, 1 AS arrivals, 0 AS departures
		        FROM attendance_day WHERE day = ANY ($1) AND arrival_minute >= 0
		        UNION ALL
		        SELECT day, kindergarten_id, departure_minute / 10, 0, 1
		        FROM attendance_day WHERE day = ANY ($1) AND departure_minute >= 0) t
		  GROUP BY t.kindergarten_id, t.day, t.slot`, &summary.KindergartenSlotRows},
		{`INSERT INTO arrival_district_slot (day, district_code, slot, arrivals, departures)
		  SELECT s.day, k.district_code, s.slot, sum(s.arrivals), sum(s.departures)
		  FROM arrival_kindergarten_slot s JOIN kindergarten k ON k.id = s.kindergarten_id
		  WHERE s.day = ANY ($1)
		  GROUP BY s.day, k.district_code, s.slot`, &summary.DistrictSlotRows},
	}
	for _, step := range steps {
		result, err := tx.ExecContext(ctx, step.query, days)
		if err != nil {
			return summary, fmt.Errorf("rebuild rollups: %w", err)
		}
		if step.rows != nil {
			*step.rows, _ = result.RowsAffected()
		}
	}
	if err := tx.GetContext(ctx, &summary.RawRows, `SELECT count(*) FROM attendance_day WHERE day = ANY ($1)`, days); err != nil {
		return summary, err
	}
	summary.Elapsed = time.Since(started)
	return summary, tx.Commit()
}
