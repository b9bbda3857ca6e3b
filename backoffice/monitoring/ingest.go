package monitoring

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// Kindergarten is the kindergarten a batch belongs to, with the district and
// street its rollup rows are filed under.
type Kindergarten struct {
	ID           int64  `db:"id"`
	DistrictCode string `db:"district_code"`
	StreetCode   string `db:"street_code"`
}

// Record is one child's attendance on one day, validated, in table codes.
type Record struct {
	ChildKey        string
	CampusID        int64 // 0 when the sender does not name a campus
	Grade           int16
	ClassName       string
	Day             time.Time
	Status          int16
	SickType        int16
	ArrivalMinute   int16
	DepartureMinute int16
	CheckResult     int16
	// Reason, SentHome and Note describe an abnormal morning check only.
	Reason   int16
	SentHome bool
	Note     string
}

// Weather is one district's weather on one day.
type Weather struct {
	Day             time.Time
	DistrictCode    string
	Condition       int16
	TemperatureHigh int16
	TemperatureLow  int16
	PrecipitationMM int16
}

// IngestResult counts what a batch changed.
type IngestResult struct {
	Records        int `json:"records"`
	NewChildren    int `json:"newChildren"`
	Days           int `json:"days"`
	AbnormalChecks int `json:"abnormalChecks"`
}

// ErrUnknownKindergarten is returned by Ingest for a kindergarten ID with no
// kindergarten.
var ErrUnknownKindergarten = errors.New("unknown kindergarten")

// ErrForeignCampus is returned by Ingest when a record names a campus of
// another kindergarten.
var ErrForeignCampus = errors.New("campus belongs to another kindergarten")

// Store writes attendance batches and weather.
type Store struct {
	DB *sqlx.DB
}

// Ingest writes one kindergarten's batch in one transaction. It creates or
// updates the children and replaces each child's row of each day, so
// sending the same batch again changes nothing. It replaces the abnormal
// morning-check details of those rows and refreshes the rollups of the days
// the batch touches. Then it calls inside, which records the audit event,
// and commits. records must be valid (see ParseRecord) and hold each child
// and day at most once. It returns ErrUnknownKindergarten or
// ErrForeignCampus without writing anything.
func (s *Store) Ingest(ctx context.Context, kindergartenID int64, records []Record, inside func(*sqlx.Tx, IngestResult) error) (IngestResult, error) {
	result := IngestResult{Records: len(records)}
	tx, err := s.DB.BeginTxx(ctx, nil)
	if err != nil {
		return result, err
	}
	defer tx.Rollback()

	// The row lock serialises the batches of one kindergarten, which the
	// rollup refresh relies on; batches of other kindergartens run in
	// parallel.
	var kindergarten Kindergarten
	err = tx.GetContext(ctx, &kindergarten,
		`SELECT id, district_code, street_code FROM kindergarten WHERE id = $1 FOR NO KEY UPDATE`, kindergartenID)
	if errors.Is(err, sql.ErrNoRows) {
		return result, ErrUnknownKindergarten
	}
	if err != nil {
		return result, fmt.Errorf("lock kindergarten %d: %w", kindergartenID, err)
	}
	if err := checkCampuses(ctx, tx, kindergartenID, records); err != nil {
		return result, err
	}

	childIDs, created, err := upsertChildren(ctx, tx, kindergartenID, records)
	if err != nil {
		return result, err
	}
	result.NewChildren = created

	days, abnormal, err := writeRawRows(ctx, tx, kindergartenID, records, childIDs)
	if err != nil {
		return result, err
	}
	result.Days, result.AbnormalChecks = len(days), abnormal

	if err := refreshRollups(ctx, tx, kindergarten, days); err != nil {
		return result, err
	}
	if inside != nil {
		if err := inside(tx, result); err != nil {
			return result, err
		}
	}
	return result, tx.Commit()
}

func checkCampuses(ctx context.Context, tx *sqlx.Tx, kindergartenID int64, records []Record) error {
	var campuses []int64
	for _, record := range records {
		if record.CampusID != 0 && !slices.Contains(campuses, record.CampusID) {
			campuses = append(campuses, record.CampusID)
		}
	}
	if len(campuses) == 0 {
		return nil
	}
	var own int
	err := tx.GetContext(ctx, &own, `SELECT count(*) FROM campus WHERE kindergarten_id = $1 AND id = ANY ($2)`, kindergartenID, campuses)
	if err != nil {
		return fmt.Errorf("check campuses: %w", err)
	}
	if own != len(campuses) {
		return ErrForeignCampus
	}
	return nil
}

// upsertChildren creates the children the kindergarten has not sent before
// and updates the grade, class and campus of the others, taking each
// child's values from its latest day in the batch. It returns the child IDs
// by key and how many children are new.
func upsertChildren(ctx context.Context, tx *sqlx.Tx, kindergartenID int64, records []Record) (map[string]int32, int, error) {
	latest := map[string]Record{}
	for _, record := range records {
		if previous, ok := latest[record.ChildKey]; !ok || record.Day.After(previous.Day) {
			latest[record.ChildKey] = record
		}
	}
	var keys, classes []string
	var grades []int16
	var campuses []sql.NullInt64
	for key, record := range latest {
		keys = append(keys, key)
		grades = append(grades, record.Grade)
		classes = append(classes, record.ClassName)
		campuses = append(campuses, sql.NullInt64{Int64: record.CampusID, Valid: record.CampusID != 0})
	}

	// xmax = 0 marks a row this statement inserted rather than updated.
	const q = `
		INSERT INTO monitoring_child (kindergarten_id, child_key, grade, class_name, campus_id)
		SELECT $1, key, grade, class_name, campus_id
		FROM unnest($2::text[], $3::smallint[], $4::text[], $5::bigint[]) AS u (key, grade, class_name, campus_id)
		ORDER BY key
		ON CONFLICT (kindergarten_id, child_key) DO UPDATE SET
			grade = excluded.grade, class_name = excluded.class_name,
			campus_id = COALESCE(excluded.campus_id, monitoring_child.campus_id)
		RETURNING id, child_key, xmax = 0 AS inserted`
	rows, err := tx.QueryContext(ctx, q, kindergartenID, keys, grades, classes, campuses)
	if err != nil {
		return nil, 0, fmt.Errorf("upsert children: %w", err)
	}
	defer rows.Close()
	ids := make(map[string]int32, len(keys))
	created := 0
	for rows.Next() {
		var id int32
		var key string
		var inserted bool
		if err := rows.Scan(&id, &key, &inserted); err != nil {
			return nil, 0, err
		}
		ids[key] = id
		if inserted {
			created++
		}
	}
	return ids, created, rows.Err()
}

// writeRawRows replaces the attendance rows and abnormal morning-check
// details of the batch. It returns the days the batch touches and the
// number of abnormal checks.
func writeRawRows(ctx context.Context, tx *sqlx.Tx, kindergartenID int64, records []Record, childIDs map[string]int32) ([]time.Time, int, error) {
	n := len(records)
	children := make([]int32, n)
	days := make([]time.Time, n)
	grades := make([]int16, n)
	statuses := make([]int16, n)
	sickTypes := make([]int16, n)
	checks := make([]int16, n)
	arrivals := make([]int16, n)
	departures := make([]int16, n)
	var abnormalChildren []int32
	var abnormalDays []time.Time
	var reasons []int16
	var sentHome []bool
	var notes []string
	var touched []time.Time
	for i, record := range records {
		children[i], days[i], grades[i] = childIDs[record.ChildKey], record.Day, record.Grade
		statuses[i], sickTypes[i], checks[i] = record.Status, record.SickType, record.CheckResult
		arrivals[i], departures[i] = record.ArrivalMinute, record.DepartureMinute
		if record.CheckResult == CheckAbnormal {
			abnormalChildren = append(abnormalChildren, children[i])
			abnormalDays = append(abnormalDays, record.Day)
			reasons = append(reasons, record.Reason)
			sentHome = append(sentHome, record.SentHome)
			notes = append(notes, record.Note)
		}
		if !slices.ContainsFunc(touched, record.Day.Equal) {
			touched = append(touched, record.Day)
		}
	}
	slices.SortFunc(touched, time.Time.Compare)

	const upsert = `
		INSERT INTO attendance_day (kindergarten_id, child_id, day, grade, status, sick_type, check_result, arrival_minute, departure_minute)
		SELECT $1, child_id, day, grade, status, sick_type, check_result, arrival_minute, departure_minute
		FROM unnest($2::integer[], $3::date[], $4::smallint[], $5::smallint[], $6::smallint[], $7::smallint[], $8::smallint[], $9::smallint[])
		     AS u (child_id, day, grade, status, sick_type, check_result, arrival_minute, departure_minute)
		ORDER BY day, child_id
		ON CONFLICT (kindergarten_id, day, child_id) DO UPDATE SET
			grade = excluded.grade, status = excluded.status, sick_type = excluded.sick_type,
			check_result = excluded.check_result, arrival_minute = excluded.arrival_minute,
			departure_minute = excluded.departure_minute`
	if _, err := tx.ExecContext(ctx, upsert, kindergartenID, children, days, grades, statuses, sickTypes, checks, arrivals, departures); err != nil {
		return nil, 0, fmt.Errorf("upsert attendance rows: %w", err)
	}

	const clearDetails = `
		DELETE FROM morning_check_abnormal m
		USING unnest($2::integer[], $3::date[]) AS u (child_id, day)
		WHERE m.kindergarten_id = $1 AND m.child_id = u.child_id AND m.day = u.day`
	if _, err := tx.ExecContext(ctx, clearDetails, kindergartenID, children, days); err != nil {
		return nil, 0, fmt.Errorf("clear morning-check details: %w", err)
	}
	if len(abnormalChildren) > 0 {
		const insertDetails = `
			INSERT INTO morning_check_abnormal (kindergarten_id, child_id, day, reason, sent_home, note)
			SELECT $1, child_id, day, reason, sent_home, note
			FROM unnest($2::integer[], $3::date[], $4::smallint[], $5::boolean[], $6::text[]) AS u (child_id, day, reason, sent_home, note)`
		if _, err := tx.ExecContext(ctx, insertDetails, kindergartenID, abnormalChildren, abnormalDays, reasons, sentHome, notes); err != nil {
			return nil, 0, fmt.Errorf("insert morning-check details: %w", err)
		}
	}
	return touched, len(abnormalChildren), nil
}

// SaveWeather inserts or replaces weather rows.
func (s *Store) SaveWeather(ctx context.Context, rows []Weather) error {
	tx, err := s.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := saveWeather(ctx, tx, rows); err != nil {
		return err
	}
	return tx.Commit()
}

func saveWeather(ctx context.Context, tx *sqlx.Tx, rows []Weather) error {
	if len(rows) == 0 {
		return nil
	}
	days := make([]time.Time, len(rows))
	districts := make([]string, len(rows))
	conditions := make([]int16, len(rows))
	highs := make([]int16, len(rows))
	lows := make([]int16, len(rows))
	precipitation := make([]int16, len(rows))
	for i, row := range rows {
		days[i], districts[i], conditions[i] = row.Day, row.DistrictCode, row.Condition
		highs[i], lows[i], precipitation[i] = row.TemperatureHigh, row.TemperatureLow, row.PrecipitationMM
	}
	// DISTINCT ON keeps one row per district and day, because ON CONFLICT
	// rejects a statement that updates the same row twice.
	const q = `
		INSERT INTO weather_day (day, district_code, condition, temperature_high, temperature_low, precipitation_mm)
		SELECT DISTINCT ON (day, district_code) *
		FROM unnest($1::date[], $2::text[], $3::smallint[], $4::smallint[], $5::smallint[], $6::smallint[])
		     AS u (day, district_code, condition, temperature_high, temperature_low, precipitation_mm)
		ON CONFLICT (day, district_code) DO UPDATE SET condition = excluded.condition,
			temperature_high = excluded.temperature_high, temperature_low = excluded.temperature_low,
			precipitation_mm = excluded.precipitation_mm`
	if _, err := tx.ExecContext(ctx, q, days, districts, conditions, highs, lows, precipitation); err != nil {
		return fmt.Errorf("save weather: %w", err)
	}
	return nil
}
