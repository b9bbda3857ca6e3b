// Package enrolment serves the enrolment panels (登记, 报名, 录取, 托班,
// reports) from the hourly rollup that triggers keep current as the
// drainer inserts registrations and applications, with the live figure read
// from the edge's Redis counters.
package enrolment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Kinds of submission the rollup counts.
const (
	KindRegistration = "registration"
	KindApplication  = "application"
	KindAdmission    = "admission"
)

// liveApplication is the condition on an application (alias a) that the
// enrolment figures count: not returned (已退回) and not deleted (已删除).
// The rollup triggers of migration 0026 and the unique index
// application_live_child_idx use the same definition, so a child has at
// most one live application a year.
const liveApplication = "a.status NOT IN ('returned', 'deleted')"

// RollupColumns tie a rollup row (alias e) to a data scope. Registrations
// carry kindergarten 0, so kindergarten staff see only applications that
// chose their kindergarten first.
var RollupColumns = access.Columns{
	Districts: []string{"e.district_code"},
	Streets:   []string{"e.street_code"},
	Kindergarten: func(placeholder string) string {
		return "e.kindergarten_id = " + placeholder
	},
}

// ResidenceColumns tie a registration (alias r) to a data scope the way the
// rollup counts it: by residence only.
var ResidenceColumns = access.Columns{
	Districts: []string{"r.residence_district_code"},
	Streets:   []string{"r.residence_street_code"},
}

// applicationColumns tie an application (alias a, its first-choice campus
// c and registration r) to a data scope the way the rollup counts it.
var applicationColumns = access.Columns{
	Districts: []string{"a.district_code"},
	Streets:   []string{"r.residence_street_code"},
	Kindergarten: func(placeholder string) string {
		return "c.kindergarten_id = " + placeholder
	},
}

// MilestoneCounts are the counts whose crossing time each kind's trend
// shows: the 10,000th and 100,000th registration and application, and the
// 10,000th admission.
var MilestoneCounts = map[string][]int{
	KindRegistration: {10_000, 100_000},
	KindApplication:  {10_000, 100_000},
	KindAdmission:    {10_000},
}

// Store reads the enrolment panels.
type Store struct {
	DB    *sqlx.DB
	Names *dashboard.Names
	// MilestoneCounts, when not nil, replaces the package's
	// MilestoneCounts, so tests can reach milestones with little data.
	MilestoneCounts map[string][]int
}

// Count is a figure of one code (an area, a category or a status).
type Count struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// Point is a figure of one trend bucket.
type Point struct {
	At    time.Time `json:"at"`
	Count int64     `json:"count"`
}

// Query is the year, range, area and scope of one panel request.
type Query struct {
	Year  int
	Range dashboard.Range
	Area  dashboard.Area
	Scope access.Scope
}

// The rollup tables as the queries name them.
const (
	hourlyRollup = "enrolment_rollup e"
	dailyRollup  = "enrolment_daily_rollup e"
)

// rollupSource returns the rollup table (alias e) a query of kind reads,
// its conditions, and the expression of a row's time as a Shanghai
// timestamp without time zone. City-wide queries of city or district
// staff in whole days read the daily rollup. Queries that need streets,
// kindergartens or hours read the hourly one. A zero q.Year covers every
// year.
func rollupSource(kind string, q Query) (table string, w *dashboard.Where, at string) {
	w = &dashboard.Where{}
	w.AddValue("e.kind = %s", kind)
	if q.Year != 0 {
		w.AddValue("e.enrolment_year = %s", int16(q.Year))
	}
	daily := q.Area.Level == dashboard.LevelCity && q.Range.Bucket != dashboard.BucketHour &&
		(q.Scope.Level == access.LevelCity || q.Scope.Level == access.LevelDistrict)
	if daily {
		w.AddValue("e.day >= CAST(%s AS date)", q.Range.From.In(enrol.Shanghai).Format(time.DateOnly))
		w.AddValue("e.day < CAST(%s AS date)", q.Range.To.In(enrol.Shanghai).Format(time.DateOnly))
		w.Add(q.Scope.Filter(access.Columns{Districts: []string{"e.district_code"}}, w.Next()))
		return dailyRollup, w, "CAST(e.day AS timestamp)"
	}
	w.AddValue("e.hour >= %s", q.Range.From)
	w.AddValue("e.hour < %s", q.Range.To)
	w.Add(q.Scope.Filter(RollupColumns, w.Next()))
	w.Add(q.Area.Condition("e.district_code", "e.street_code", w.Next()))
	return hourlyRollup, w, "e.hour AT TIME ZONE 'Asia/Shanghai'"
}

// ByArea returns the submissions of kind per child area of q.Area, largest
// first.
func (s *Store) ByArea(ctx context.Context, kind string, q Query) ([]Count, error) {
	table, w, _ := rollupSource(kind, q)
	group := q.Area.Group("e.district_code", "e.street_code", "CAST(e.kindergarten_id AS text)")
	query := `SELECT ` + group + ` AS code, sum(e.submissions) AS count FROM ` + table + `
		WHERE ` + w.SQL() + ` GROUP BY 1 HAVING sum(e.submissions) <> 0 ORDER BY 2 DESC, 1`
	var counts []Count
	if err := s.DB.SelectContext(ctx, &counts, query, w.Args...); err != nil {
		return nil, fmt.Errorf("%s by area: %w", kind, err)
	}
	return counts, s.label(ctx, q.Area.ChildLevel(), counts)
}

// ByCategory returns the submissions of kind per household category (for
// registrations, per category group).
func (s *Store) ByCategory(ctx context.Context, kind string, q Query) ([]Count, error) {
	table, w, _ := rollupSource(kind, q)
	query := `SELECT e.category AS code, COALESCE(g.name, e.category) AS name, sum(e.submissions) AS count
		FROM ` + table + `
		LEFT JOIN (SELECT code, name FROM household_category
		           UNION ALL SELECT DISTINCT group_code, group_name FROM household_category) g ON g.code = e.category
		WHERE ` + w.SQL() + ` GROUP BY 1, 2 HAVING sum(e.submissions) <> 0 ORDER BY 3 DESC, 1`
	var counts []Count
	if err := s.DB.SelectContext(ctx, &counts, query, w.Args...); err != nil {
		return nil, fmt.Errorf("%s by category: %w", kind, err)
	}
	return counts, nil
}

// Supplementary returns the supplementary submissions of kind (补登记,
// 补报名) in q.
func (s *Store) Supplementary(ctx context.Context, kind string, q Query) (int64, error) {
	table, w, _ := rollupSource(kind, q)
	var n int64
	err := s.DB.GetContext(ctx, &n, `SELECT COALESCE(sum(e.submissions), 0) FROM `+table+`
		WHERE `+w.SQL()+` AND e.supplementary`, w.Args...)
	if err != nil {
		return 0, fmt.Errorf("supplementary %s: %w", kind, err)
	}
	return n, nil
}

// Trend returns the submissions of kind per bucket of q.Range, in Shanghai
// time, oldest first. Buckets without submissions are left out.
func (s *Store) Trend(ctx context.Context, kind string, q Query) ([]Point, error) {
	table, w, at := rollupSource(kind, q)
	query := `SELECT date_trunc('` + q.Range.Bucket + `', ` + at + `) AS at, sum(e.submissions) AS count
		FROM ` + table + ` WHERE ` + w.SQL() + ` GROUP BY 1 HAVING sum(e.submissions) <> 0 ORDER BY 1`
	return s.points(ctx, kind+" trend", query, w.Args)
}

// points runs a query of (Shanghai wall-clock time, count) rows.
func (s *Store) points(ctx context.Context, name, query string, args []any) ([]Point, error) {
	rows, err := s.DB.QueryxContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer rows.Close()
	var points []Point
	for rows.Next() {
		var local time.Time
		var count int64
		if err := rows.Scan(&local, &count); err != nil {
			return nil, err
		}
		// date_trunc of a timestamp without time zone comes back as UTC
		// wall-clock fields, which are Shanghai's here.
		at := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), 0, 0, 0, enrol.Shanghai)
		points = append(points, Point{At: at, Count: count})
	}
	return points, rows.Err()
}

// History returns the submissions of kind per enrolment year, within scope
// and area, oldest first.
func (s *Store) History(ctx context.Context, kind string, q Query) ([]Count, error) {
	all := q
	all.Range = wholeRange()
	all.Year = 0
	table, w, _ := rollupSource(kind, all)
	var counts []Count
	err := s.DB.SelectContext(ctx, &counts, `SELECT CAST(e.enrolment_year AS text) AS code, CAST(e.enrolment_year AS text) AS name,
		sum(e.submissions) AS count FROM `+table+` WHERE `+w.SQL()+` GROUP BY 1 HAVING sum(e.submissions) <> 0 ORDER BY 1`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("%s history: %w", kind, err)
	}
	return counts, nil
}

// Milestone is the moment the Count-th submission of the year was
// accepted (or admitted), or a nil CrossedAt when there are fewer.
type Milestone struct {
	Count     int        `json:"count"`
	CrossedAt *time.Time `json:"crossedAt"`
}

// Milestones returns when the submissions of kind in the year, within the
// scope and area, passed each of its milestone counts (s.MilestoneCounts
// or the package's MilestoneCounts), whatever q.Range.
// For registrations and applications the daily rollup (for city-wide
// queries) finds the day, the hourly rollup the hour, and the raw table
// the exact moment inside it. Admissions have no rollup, so the
// application table gives the moment directly.
func (s *Store) Milestones(ctx context.Context, kind string, q Query) ([]Milestone, error) {
	counts := MilestoneCounts[kind]
	if s.MilestoneCounts != nil {
		counts = s.MilestoneCounts[kind]
	}
	milestones := make([]Milestone, 0, len(counts))
	if kind == KindAdmission {
		for _, threshold := range counts {
			at, err := s.nthAdmission(ctx, q, int64(threshold))
			if err != nil {
				return nil, err
			}
			milestones = append(milestones, Milestone{Count: threshold, CrossedAt: at})
		}
		return milestones, nil
	}

	all := q
	all.Range = wholeRange()
	steps, err := s.cumulative(ctx, kind, all, dashboard.BucketDay)
	if err != nil {
		return nil, err
	}
	for _, threshold := range counts {
		milestone := Milestone{Count: threshold}
		step, before, found := crossing(steps, int64(threshold), 0)
		if found && step.daily {
			day := all
			day.Range = dashboard.Range{Period: dashboard.PeriodDay, Bucket: dashboard.BucketHour, From: step.At, To: step.At.AddDate(0, 0, 1)}
			hours, err := s.cumulative(ctx, kind, day, dashboard.BucketHour)
			if err != nil {
				return nil, err
			}
			step, before, found = crossing(hours, int64(threshold), before)
		}
		if found {
			at, err := s.nthSubmission(ctx, kind, q, step.At, int64(threshold)-before)
			if err != nil {
				return nil, err
			}
			milestone.CrossedAt = at
		}
		milestones = append(milestones, milestone)
	}
	return milestones, nil
}

// wholeRange returns a range that covers every enrolment time.
func wholeRange() dashboard.Range {
	return dashboard.Range{
		Period: dashboard.PeriodAll, Bucket: dashboard.BucketDay,
		From: time.Date(2000, 1, 1, 0, 0, 0, 0, enrol.Shanghai), To: time.Date(2100, 1, 1, 0, 0, 0, 0, enrol.Shanghai),
	}
}

// step is the submissions of one day or hour, starting At.
type step struct {
	At    time.Time
	Count int64
	daily bool
}

// cumulative returns the submissions of kind per step of q, oldest first.
// The steps are days when q reads the daily rollup (see rollupSource),
// else hours.
func (s *Store) cumulative(ctx context.Context, kind string, q Query, bucket string) ([]step, error) {
	q.Range.Bucket = bucket
	table, w, at := rollupSource(kind, q)
	points, err := s.points(ctx, kind+" per "+bucket, `SELECT `+at+` AS at, sum(e.submissions) AS count FROM `+table+`
		WHERE `+w.SQL()+` GROUP BY 1 ORDER BY 1`, w.Args)
	if err != nil {
		return nil, err
	}
	steps := make([]step, len(points))
	for i, p := range points {
		steps[i] = step{At: p.At, Count: p.Count, daily: table == dailyRollup}
	}
	return steps, nil
}

// crossing returns the step in which the running total, starting from
// start, reaches threshold, and the total before that step.
func crossing(steps []step, threshold, start int64) (step, int64, bool) {
	total := start
	for _, s := range steps {
		if total+s.Count >= threshold {
			return s, total, true
		}
		total += s.Count
	}
	return step{}, total, false
}

// nthSubmission returns the accepted_at of the n-th registration or live
// application (from 1) accepted in the hour starting at hour, counted in
// the areas the rollup counts it in.
func (s *Store) nthSubmission(ctx context.Context, kind string, q Query, hour time.Time, n int64) (*time.Time, error) {
	w := &dashboard.Where{}
	var from, column, order string
	if kind == KindRegistration {
		from, column, order = "registration r", "r.accepted_at", "r.accepted_at, r.registration_number"
		w.AddValue("r.enrolment_year = %s", int16(q.Year))
		w.AddValue("r.accepted_at >= %s", hour)
		w.AddValue("r.accepted_at < %s", hour.Add(time.Hour))
		w.Add(q.Scope.Filter(ResidenceColumns, w.Next()))
		w.Add(q.Area.Condition("r.residence_district_code", "r.residence_street_code", w.Next()))
	} else {
		from, column, order = applicationSource, "a.accepted_at", "a.accepted_at, a.application_number"
		w.Add(access.Condition{SQL: liveApplication})
		w.AddValue("a.enrolment_year = %s", int16(q.Year))
		w.AddValue("a.accepted_at >= %s", hour)
		w.AddValue("a.accepted_at < %s", hour.Add(time.Hour))
		w.Add(q.Scope.Filter(applicationColumns, w.Next()))
		w.Add(q.Area.Condition("a.district_code", "r.residence_street_code", w.Next()))
	}
	at, err := s.nth(ctx, column, from, order, w, n)
	if err != nil {
		return nil, fmt.Errorf("%s number %d of hour %s: %w", kind, n, hour, err)
	}
	return at, nil
}

// nthAdmission returns the admitted_at of the n-th admission (from 1) of
// the year within the scope and area, or nil when there are fewer.
func (s *Store) nthAdmission(ctx context.Context, q Query, n int64) (*time.Time, error) {
	w := admissionWhere(q)
	at, err := s.nth(ctx, "a.admitted_at", applicationSource, "a.admitted_at, a.application_number", w, n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("admission number %d: %w", n, err)
	}
	return at, nil
}

// nth returns column of the n-th row (from 1) of from, filtered by w, in
// the given order.
func (s *Store) nth(ctx context.Context, column, from, order string, w *dashboard.Where, n int64) (*time.Time, error) {
	offset := w.Next()
	args := append(slices.Clip(w.Args), n-1)
	var at time.Time
	err := s.DB.GetContext(ctx, &at, `SELECT `+column+` FROM `+from+` WHERE `+w.SQL()+
		` ORDER BY `+order+` OFFSET $`+strconv.Itoa(offset)+` LIMIT 1`, args...)
	if err != nil {
		return nil, err
	}
	return &at, nil
}

// applicationSource joins an application (alias a) to its registration r
// and first-choice campus c, which applicationColumns read.
const applicationSource = `application a
	LEFT JOIN registration r ON r.registration_number = a.registration_number
	LEFT JOIN campus c ON c.id = a.campus_choices[1]`

// admissionWhere returns the conditions on the admitted applications
// (aliases of applicationSource) of the year within the scope and area,
// whatever their time.
func admissionWhere(q Query) *dashboard.Where {
	w := &dashboard.Where{}
	w.Add(access.Condition{SQL: "a.status = 'admitted'"})
	w.AddValue("a.enrolment_year = %s", int16(q.Year))
	w.Add(q.Scope.Filter(applicationColumns, w.Next()))
	w.Add(q.Area.Condition("a.district_code", "r.residence_street_code", w.Next()))
	return w
}

// AdmissionTrend returns the admissions per bucket of q.Range by the time
// they were admitted, in Shanghai time, oldest first. Buckets without
// admissions are left out.
func (s *Store) AdmissionTrend(ctx context.Context, q Query) ([]Point, error) {
	w := admissionWhere(q)
	w.AddValue("a.admitted_at >= %s", q.Range.From)
	w.AddValue("a.admitted_at < %s", q.Range.To)
	query := `SELECT date_trunc('` + q.Range.Bucket + `', a.admitted_at AT TIME ZONE 'Asia/Shanghai') AS at, count(*) AS count
		FROM ` + applicationSource + ` WHERE ` + w.SQL() + ` GROUP BY 1 ORDER BY 1`
	return s.points(ctx, "admission trend", query, w.Args)
}

// Plan returns the junior-class (小班) seats planned for the year within the
// scope and area, per child area of q.Area and in total.
func (s *Store) Plan(ctx context.Context, q Query) (map[string]int64, int64, error) {
	w := &dashboard.Where{}
	w.AddValue("p.enrolment_year = %s", int16(q.Year))
	w.Add(access.Condition{SQL: "p.grade IN ('junior', 'mixed')"})
	w.Add(q.Scope.Filter(access.Columns{
		Districts:    []string{"c.district_code"},
		Streets:      []string{"c.street_code"},
		Kindergarten: func(p string) string { return "c.kindergarten_id = " + p },
	}, w.Next()))
	w.Add(q.Area.Condition("c.district_code", "c.street_code", w.Next()))
	group := q.Area.Group("c.district_code", "c.street_code", "CAST(c.kindergarten_id AS text)")
	return s.sumBy(ctx, `SELECT `+group+` AS code, sum(p.seats) AS count FROM seat_plan p JOIN campus c ON c.id = p.campus_id
		WHERE `+w.SQL()+` GROUP BY 1`, w.Args)
}

// Population returns the resident children of age within the scope and
// area in the census of the year, per child area of q.Area and in total.
// Population has no kindergarten, so a kindergarten viewer gets none.
func (s *Store) Population(ctx context.Context, q Query, age int) (map[string]int64, int64, error) {
	w := &dashboard.Where{}
	w.AddValue("p.census_year = %s", int16(q.Year))
	w.AddValue("p.age = %s", int16(age))
	w.Add(q.Scope.Filter(access.Columns{Districts: []string{"p.district_code"}, Streets: []string{"p.street_code"}}, w.Next()))
	w.Add(q.Area.Condition("p.district_code", "p.street_code", w.Next()))
	group := q.Area.Group("p.district_code", "p.street_code", "''")
	return s.sumBy(ctx, `SELECT `+group+` AS code, sum(p.population) AS count FROM resident_population p
		WHERE `+w.SQL()+` GROUP BY 1`, w.Args)
}

func (s *Store) sumBy(ctx context.Context, query string, args []any) (map[string]int64, int64, error) {
	var counts []Count
	if err := s.DB.SelectContext(ctx, &counts, query, args...); err != nil {
		return nil, 0, err
	}
	byCode := make(map[string]int64, len(counts))
	var total int64
	for _, c := range counts {
		byCode[c.Code] = c.Count
		total += c.Count
	}
	return byCode, total, nil
}

// Admissions returns the admitted applications of the year admitted in
// q.Range, per child area of q.Area.
func (s *Store) Admissions(ctx context.Context, q Query) ([]Count, error) {
	w := admissionWhere(q)
	w.AddValue("a.admitted_at >= %s", q.Range.From)
	w.AddValue("a.admitted_at < %s", q.Range.To)
	group := q.Area.Group("a.district_code", "COALESCE(r.residence_street_code, '')", "CAST(COALESCE(c.kindergarten_id, 0) AS text)")
	var counts []Count
	err := s.DB.SelectContext(ctx, &counts, `SELECT `+group+` AS code, count(*) AS count
		FROM `+applicationSource+`
		WHERE `+w.SQL()+` GROUP BY 1 ORDER BY 2 DESC, 1`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("admissions by area: %w", err)
	}
	return counts, s.label(ctx, q.Area.ChildLevel(), counts)
}

// AdmissionsByCategory returns the admitted applications of the year
// admitted in q.Range per household category.
func (s *Store) AdmissionsByCategory(ctx context.Context, q Query) ([]Count, error) {
	w := admissionWhere(q)
	w.AddValue("a.admitted_at >= %s", q.Range.From)
	w.AddValue("a.admitted_at < %s", q.Range.To)
	var counts []Count
	err := s.DB.SelectContext(ctx, &counts, `SELECT a.category_code AS code, COALESCE(h.name, a.category_code) AS name, count(*) AS count
		FROM `+applicationSource+`
		LEFT JOIN household_category h ON h.code = a.category_code
		WHERE `+w.SQL()+` GROUP BY 1, 2 ORDER BY 3 DESC, 1`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("admissions by category: %w", err)
	}
	return counts, nil
}

// SupplementaryPlacements returns the 补录取 of the year made in q.Range:
// the live 补报名 applications, each of which a district placed at its
// campus directly, outside the admission round.
func (s *Store) SupplementaryPlacements(ctx context.Context, q Query) (int64, error) {
	w := &dashboard.Where{}
	w.Add(access.Condition{SQL: "a.supplementary AND a.status NOT IN ('returned', 'deleted')"})
	w.AddValue("a.enrolment_year = %s", int16(q.Year))
	w.Add(q.Scope.Filter(applicationColumns, w.Next()))
	w.Add(q.Area.Condition("a.district_code", "r.residence_street_code", w.Next()))
	w.AddValue("a.accepted_at >= %s", q.Range.From)
	w.AddValue("a.accepted_at < %s", q.Range.To)
	var n int64
	if err := s.DB.GetContext(ctx, &n, `SELECT count(*) FROM `+applicationSource+` WHERE `+w.SQL(), w.Args...); err != nil {
		return 0, fmt.Errorf("supplementary placements: %w", err)
	}
	return n, nil
}

// NurseryRow is the nursery-class places of one area or year.
type NurseryRow struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Places   int64  `json:"places"`
	Enrolled int64  `json:"enrolled"`
	Empty    int64  `json:"empty"`
}

// Nursery returns the nursery-class places of the census year per child
// area of q.Area, and every census year's city total within scope.
func (s *Store) Nursery(ctx context.Context, q Query) ([]NurseryRow, []NurseryRow, error) {
	columns := access.Columns{
		Districts:    []string{"k.district_code"},
		Streets:      []string{"k.street_code"},
		Kindergarten: func(p string) string { return "k.id = " + p },
	}
	w := &dashboard.Where{}
	w.AddValue("n.census_year = %s", int16(q.Year))
	w.Add(q.Scope.Filter(columns, w.Next()))
	w.Add(q.Area.Condition("k.district_code", "k.street_code", w.Next()))
	group := q.Area.Group("k.district_code", "k.street_code", "CAST(k.id AS text)")
	var byArea []NurseryRow
	err := s.DB.SelectContext(ctx, &byArea, `SELECT `+group+` AS code, '' AS name, sum(n.places) AS places, sum(n.enrolled) AS enrolled,
		sum(GREATEST(n.places - n.enrolled, 0)) AS empty
		FROM nursery_place n JOIN kindergarten k ON k.id = n.kindergarten_id
		WHERE `+w.SQL()+` GROUP BY 1 ORDER BY 3 DESC, 1`, w.Args...)
	if err != nil {
		return nil, nil, fmt.Errorf("nursery places by area: %w", err)
	}
	counts := make([]Count, len(byArea))
	for i, row := range byArea {
		counts[i] = Count{Code: row.Code}
	}
	if err := s.label(ctx, q.Area.ChildLevel(), counts); err != nil {
		return nil, nil, err
	}
	for i := range byArea {
		byArea[i].Name = counts[i].Name
	}

	years := &dashboard.Where{}
	years.Add(q.Scope.Filter(columns, years.Next()))
	years.Add(q.Area.Condition("k.district_code", "k.street_code", years.Next()))
	var byYear []NurseryRow
	err = s.DB.SelectContext(ctx, &byYear, `SELECT CAST(n.census_year AS text) AS code, CAST(n.census_year AS text) AS name,
		sum(n.places) AS places, sum(n.enrolled) AS enrolled, sum(GREATEST(n.places - n.enrolled, 0)) AS empty
		FROM nursery_place n JOIN kindergarten k ON k.id = n.kindergarten_id
		WHERE `+years.SQL()+` GROUP BY 1 ORDER BY 1`, years.Args...)
	if err != nil {
		return nil, nil, fmt.Errorf("nursery places by year: %w", err)
	}
	return byArea, byYear, nil
}

// label fills in the names of counts whose codes are of level.
func (s *Store) label(ctx context.Context, level string, counts []Count) error {
	var kindergartens map[int64]string
	if level == dashboard.LevelKindergarten {
		ids := make([]int64, 0, len(counts))
		for _, c := range counts {
			id, _ := strconv.ParseInt(c.Code, 10, 64)
			ids = append(ids, id)
		}
		var err error
		if kindergartens, err = s.Names.Kindergartens(ctx, ids); err != nil {
			return err
		}
	}
	for i := range counts {
		counts[i].Name = s.Names.Label(ctx, level, counts[i].Code, kindergartens)
	}
	return nil
}

// CurrentYear returns the enrolment year whose registration opened last
// before now, or the earliest year when none has opened.
func (s *Store) CurrentYear(ctx context.Context, now time.Time) (int, error) {
	var year int
	err := s.DB.GetContext(ctx, &year, `SELECT year FROM enrolment_year
		ORDER BY (registration_opens_at <= $1) DESC, CASE WHEN registration_opens_at <= $1 THEN -year ELSE year END
		LIMIT 1`, now)
	if err != nil {
		return 0, fmt.Errorf("current enrolment year: %w", err)
	}
	return year, nil
}
