package attendance

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/monitoring"
)

// Counts are the attendance and morning-check counts of a unit over a
// period, with the rates the panels show. A rate is null when its
// denominator is zero.
type Counts struct {
	Expected          int64 `json:"expected"`
	Present           int64 `json:"present"`
	Sick              int64 `json:"sick"`
	Personal          int64 `json:"personal"`
	NotChecked        int64 `json:"notChecked"`
	SickDisease       int64 `json:"sickDisease"`
	SickSymptom       int64 `json:"sickSymptom"`
	SickOther         int64 `json:"sickOther"`
	MorningChecked    int64 `json:"morningChecked"`
	MorningNormal     int64 `json:"morningNormal"`
	MorningAbnormal   int64 `json:"morningAbnormal"`
	AbnormalSentHome  int64 `json:"abnormalSentHome"`
	ReasonTemperature int64 `json:"reasonTemperature"`
	ReasonMouth       int64 `json:"reasonMouth"`
	ReasonEyes        int64 `json:"reasonEyes"`
	ReasonSkinHands   int64 `json:"reasonSkinHands"`
	ReasonSkinFace    int64 `json:"reasonSkinFace"`
	ReasonOther       int64 `json:"reasonOther"`

	// Derived figures, filled by derive.
	CheckedIn           int64    `json:"checkedIn"`
	AbnormalStayed      int64    `json:"abnormalStayed"`
	AttendanceRate      *float64 `json:"attendanceRate"`
	NotCheckedShare     *float64 `json:"notCheckedShare"`
	MorningNormalRate   *float64 `json:"morningNormalRate"`
	MorningAbnormalRate *float64 `json:"morningAbnormalRate"`
}

// fields returns pointers to the count fields in the order of
// monitoring.CounterColumns.
func (c *Counts) fields() []*int64 {
	return []*int64{&c.Expected, &c.Present, &c.Sick, &c.Personal, &c.NotChecked, &c.SickDisease, &c.SickSymptom,
		&c.SickOther, &c.MorningChecked, &c.MorningNormal, &c.MorningAbnormal, &c.AbnormalSentHome,
		&c.ReasonTemperature, &c.ReasonMouth, &c.ReasonEyes, &c.ReasonSkinHands, &c.ReasonSkinFace, &c.ReasonOther}
}

// Add adds other's counts to c.
func (c *Counts) Add(other *Counts) {
	mine, theirs := c.fields(), other.fields()
	for i := range mine {
		*mine[i] += *theirs[i]
	}
}

func ratio(numerator, denominator int64) *float64 {
	if denominator == 0 {
		return nil
	}
	value := math.Round(float64(numerator)/float64(denominator)*10000) / 10000
	return &value
}

// derive fills the derived figures: checked-in is present + sick +
// personal, the attendance rate is present / expected, the not-checked
// share not checked / expected, and the morning-check rates are over the
// children checked.
func (c *Counts) derive() {
	c.CheckedIn = c.Present + c.Sick + c.Personal
	c.AbnormalStayed = c.MorningAbnormal - c.AbnormalSentHome
	c.AttendanceRate = ratio(c.Present, c.Expected)
	c.NotCheckedShare = ratio(c.NotChecked, c.Expected)
	c.MorningNormalRate = ratio(c.MorningNormal, c.MorningChecked)
	c.MorningAbnormalRate = ratio(c.MorningAbnormal, c.MorningChecked)
}

// Groupings of the counts.
const (
	groupUnit         = "unit"         // the node's children
	groupKindergarten = "kindergarten" // every kindergarten under the node
	groupGrade        = "grade"
	groupDay          = "day"
	groupMonth        = "month"
	groupQuarter      = "quarter"
	groupYear         = "year"
)

// Row is the counts of one group.
type Row struct {
	Keys []string
	Counts
}

// usesKindergartenTable reports whether a query needs the rows per
// kindergarten: below a district, or to group by street or kindergarten.
func usesKindergartenTable(node Node, groups []string) bool {
	if node.Level == access.LevelStreet || node.Level == access.LevelKindergarten {
		return true
	}
	for _, group := range groups {
		if group == groupKindergarten || group == groupUnit && node.Level == access.LevelDistrict {
			return true
		}
	}
	return false
}

// unitLevel is the level of a node's children.
func unitLevel(node Node) string {
	switch node.Level {
	case access.LevelCity:
		return access.LevelDistrict
	case access.LevelDistrict:
		return access.LevelStreet
	case access.LevelStreet:
		return access.LevelKindergarten
	}
	return groupGrade
}

func groupExpression(node Node, group string) string {
	switch group {
	case groupUnit:
		switch node.Level {
		case access.LevelCity:
			return "r.district_code"
		case access.LevelDistrict:
			return "r.street_code"
		case access.LevelStreet:
			return "r.kindergarten_id::text"
		}
		return "r.grade::text"
	case groupKindergarten:
		return "r.kindergarten_id::text"
	case groupGrade:
		return "r.grade::text"
	case groupDay:
		return "to_char(r.day, 'YYYY-MM-DD')"
	case groupMonth:
		return "to_char(r.day, 'YYYY-MM')"
	case groupQuarter:
		return "to_char(r.day, 'YYYY-\"Q\"Q')"
	case groupYear:
		return "to_char(r.day, 'YYYY')"
	}
	panic("attendance: unknown grouping " + group)
}

// Rollup columns tied to a data scope.
var (
	districtTableColumns     = access.Columns{Districts: []string{"r.district_code"}}
	kindergartenTableColumns = access.Columns{
		Districts:    []string{"r.district_code"},
		Streets:      []string{"r.street_code"},
		Kindergarten: func(placeholder string) string { return "r.kindergarten_id = " + placeholder },
	}
)

// nodeCondition limits rows to the node, with its argument numbered next.
func nodeCondition(node Node, next int) (string, []any) {
	placeholder := "$" + strconv.Itoa(next)
	switch node.Level {
	case access.LevelDistrict:
		return "r.district_code = " + placeholder, []any{node.DistrictCode}
	case access.LevelStreet:
		return "r.street_code = " + placeholder, []any{node.StreetCode}
	case access.LevelKindergarten:
		return "r.kindergarten_id = " + placeholder, []any{node.KindergartenID}
	}
	return "TRUE", nil
}

// countRows sums the rollups of node over period, grouped by groups (none
// gives one row), within scope, ordered by the group keys.
func countRows(ctx context.Context, db *sqlx.DB, scope access.Scope, node Node, period Period, groups ...string) ([]Row, error) {
	var result []Row
	err := eachCountRow(ctx, db, scope, node, period, groups, func(row Row) error {
		result = append(result, row)
		return nil
	})
	return result, err
}

// eachCountRow calls visit for each row countRows would return, without
// holding them all in memory.
func eachCountRow(ctx context.Context, db *sqlx.DB, scope access.Scope, node Node, period Period, groups []string, visit func(Row) error) error {
	table, columns := "attendance_district_day", districtTableColumns
	if usesKindergartenTable(node, groups) {
		table, columns = "attendance_kindergarten_day", kindergartenTableColumns
	}
	args := []any{period.From, period.To}
	nodeSQL, nodeArgs := nodeCondition(node, len(args)+1)
	args = append(args, nodeArgs...)
	scopeCondition := scope.Filter(columns, len(args)+1)
	args = append(args, scopeCondition.Args...)

	var selected, grouped []string
	for i, group := range groups {
		selected = append(selected, groupExpression(node, group)+" AS key"+strconv.Itoa(i))
		grouped = append(grouped, strconv.Itoa(i+1))
	}
	for _, column := range monitoring.CounterColumns() {
		selected = append(selected, "COALESCE(sum(r."+column+"), 0)")
	}
	query := "SELECT " + strings.Join(selected, ", ") + " FROM " + table + " r" +
		" WHERE r.day BETWEEN $1 AND $2 AND " + nodeSQL + " AND " + scopeCondition.SQL
	if len(grouped) > 0 {
		query += " GROUP BY " + strings.Join(grouped, ", ") + " ORDER BY " + strings.Join(grouped, ", ")
	}

	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("attendance counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		row := Row{Keys: make([]string, len(groups))}
		targets := make([]any, 0, len(groups)+len(monitoring.CounterColumns()))
		for i := range row.Keys {
			targets = append(targets, &row.Keys[i])
		}
		for _, field := range row.Counts.fields() {
			targets = append(targets, field)
		}
		if err := rows.Scan(targets...); err != nil {
			return err
		}
		row.derive()
		if err := visit(row); err != nil {
			return err
		}
	}
	return rows.Err()
}

// latestDay returns the latest day up to today that has attendance rows
// in the district rollup, or today when there is none.
func latestDay(ctx context.Context, db *sqlx.DB, today time.Time) (time.Time, error) {
	var day *time.Time
	if err := db.GetContext(ctx, &day, `SELECT max(day) FROM attendance_district_day WHERE day <= $1`, today); err != nil {
		return today, err
	}
	if day == nil {
		return today, nil
	}
	return *day, nil
}
