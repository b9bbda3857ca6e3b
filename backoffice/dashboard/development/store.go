// Package development serves the preschool-development panels (事业发展):
// kindergartens by level on a map, children, class-size compliance, staff,
// gross enrolment rate and coverage, the workforce's qualifications, and
// the institution, children and staff reports. It reads the kindergarten
// table and the yearly census tables that package figures fills.
package development

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
)

// KindergartenColumns tie a kindergarten (alias k) to a data scope.
var KindergartenColumns = access.Columns{
	Districts:    []string{"k.district_code"},
	Streets:      []string{"k.street_code"},
	Kindergarten: func(placeholder string) string { return "k.id = " + placeholder },
}

// Thresholds of the workforce quadrants: a kindergarten's teachers meet the
// education standard when at least EducationStandard of them hold a
// bachelor's degree or higher, and the title standard when at least
// TitleStandard hold a middle or senior title.
const (
	EducationStandard = 0.6
	TitleStandard     = 0.3
)

// Store reads the development panels.
type Store struct {
	DB    *sqlx.DB
	Names *dashboard.Names
}

// Query is the census year, area and scope of one panel request.
type Query struct {
	Year  int
	Area  dashboard.Area
	Scope access.Scope
}

func (q Query) where() *dashboard.Where {
	w := &dashboard.Where{}
	w.Add(q.Scope.Filter(KindergartenColumns, w.Next()))
	w.Add(q.Area.Condition("k.district_code", "k.street_code", w.Next()))
	return w
}

func (q Query) group() string {
	return q.Area.Group("k.district_code", "k.street_code", "CAST(k.id AS text)")
}

// LatestYear returns the latest census year, or 0 when no census is loaded.
func (s *Store) LatestYear(ctx context.Context) (int, error) {
	var year int
	err := s.DB.GetContext(ctx, &year, `SELECT COALESCE(max(census_year), 0) FROM kindergarten_class_census`)
	return year, err
}

// LevelCount is the kindergartens of one level in one area.
type LevelCount struct {
	Code  string `json:"code" db:"code"`
	Name  string `json:"name" db:"-"`
	Level string `json:"level" db:"level"`
	Count int64  `json:"count" db:"count"`
}

// Levels returns the kindergartens per child area and level.
func (s *Store) Levels(ctx context.Context, q Query) ([]LevelCount, error) {
	w := q.where()
	var rows []LevelCount
	err := s.DB.SelectContext(ctx, &rows, `SELECT `+q.group()+` AS code, k.level, count(*) AS count
		FROM kindergarten k WHERE `+w.SQL()+` GROUP BY 1, 2 ORDER BY 1, 2`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("kindergartens by level: %w", err)
	}
	names, err := s.areaNames(ctx, q, codesOf(rows, func(r LevelCount) string { return r.Code }))
	if err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].Name = names[rows[i].Code]
	}
	return rows, nil
}

// Point is a kindergarten's main campus on the map.
type Point struct {
	ID        int64   `json:"id" db:"id"`
	Name      string  `json:"name" db:"name"`
	Level     string  `json:"level" db:"level"`
	Ownership string  `json:"ownership" db:"ownership"`
	Longitude float64 `json:"longitude" db:"longitude"`
	Latitude  float64 `json:"latitude" db:"latitude"`
}

// Points returns the main campus of every kindergarten in scope and area.
func (s *Store) Points(ctx context.Context, q Query) ([]Point, error) {
	w := q.where()
	var points []Point
	err := s.DB.SelectContext(ctx, &points, `SELECT k.id, k.name, k.level, k.ownership,
		CAST(c.longitude AS float8) AS longitude, CAST(c.latitude AS float8) AS latitude
		FROM kindergarten k JOIN campus c ON c.kindergarten_id = k.id AND c.is_main
		WHERE `+w.SQL()+` ORDER BY k.id`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("kindergarten points: %w", err)
	}
	return points, nil
}

// GradeChildren is the children of one grade.
type GradeChildren struct {
	Grade string `json:"grade" db:"grade"`
	Boys  int64  `json:"boys" db:"boys"`
	Girls int64  `json:"girls" db:"girls"`
}

// Children returns the children per grade and sex.
func (s *Store) Children(ctx context.Context, q Query) ([]GradeChildren, error) {
	w := q.where()
	w.AddValue("c.census_year = %s", int16(q.Year))
	var rows []GradeChildren
	err := s.DB.SelectContext(ctx, &rows, `SELECT c.grade, sum(c.boys) AS boys, sum(c.girls) AS girls
		FROM kindergarten_class_census c JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE `+w.SQL()+` GROUP BY 1 ORDER BY array_position(ARRAY['nursery', 'junior', 'middle', 'senior', 'mixed'], c.grade)`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("children by grade: %w", err)
	}
	return rows, nil
}

// ClassSize is the class-size compliance of one area.
type ClassSize struct {
	Code              string  `json:"code" db:"code"`
	Name              string  `json:"name" db:"-"`
	Classes           int64   `json:"classes" db:"classes"`
	OversizedClasses  int64   `json:"oversizedClasses" db:"oversized_classes"`
	OversizedChildren int64   `json:"oversizedChildren" db:"oversized_children"`
	ComplianceRate    float64 `json:"complianceRate" db:"-"`
}

// ClassSizes returns the class-size compliance per child area, the
// compliance rate being compliant classes ÷ classes.
func (s *Store) ClassSizes(ctx context.Context, q Query) ([]ClassSize, error) {
	w := q.where()
	w.AddValue("c.census_year = %s", int16(q.Year))
	var rows []ClassSize
	err := s.DB.SelectContext(ctx, &rows, `SELECT `+q.group()+` AS code, sum(c.classes) AS classes,
		sum(c.oversized_classes) AS oversized_classes, sum(c.oversized_children) AS oversized_children
		FROM kindergarten_class_census c JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE `+w.SQL()+` GROUP BY 1 ORDER BY 1`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("class sizes by area: %w", err)
	}
	names, err := s.areaNames(ctx, q, codesOf(rows, func(r ClassSize) string { return r.Code }))
	if err != nil {
		return nil, err
	}
	for i := range rows {
		rows[i].Name = names[rows[i].Code]
		rows[i].ComplianceRate = dashboard.Rate(float64(rows[i].Classes-rows[i].OversizedClasses), float64(rows[i].Classes))
	}
	return rows, nil
}

// OversizedClass is a grade of one kindergarten with classes above the
// class-size limit.
type OversizedClass struct {
	KindergartenID    int64  `json:"kindergartenId" db:"kindergarten_id"`
	Kindergarten      string `json:"kindergarten" db:"kindergarten"`
	DistrictCode      string `json:"districtCode" db:"district_code"`
	Grade             string `json:"grade" db:"grade"`
	OversizedClasses  int64  `json:"oversizedClasses" db:"oversized_classes"`
	OversizedChildren int64  `json:"oversizedChildren" db:"oversized_children"`
}

// maxOversizedRows bounds the list of oversized classes a panel shows; the
// report export lists them all.
const maxOversizedRows = 200

// Oversized returns the grades of kindergartens with oversized classes,
// most oversized children first, at most maxOversizedRows.
func (s *Store) Oversized(ctx context.Context, q Query) ([]OversizedClass, error) {
	w := q.where()
	w.AddValue("c.census_year = %s", int16(q.Year))
	var rows []OversizedClass
	err := s.DB.SelectContext(ctx, &rows, `SELECT k.id AS kindergarten_id, k.name AS kindergarten, k.district_code, c.grade,
		c.oversized_classes, c.oversized_children
		FROM kindergarten_class_census c JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE `+w.SQL()+` AND c.oversized_classes > 0
		ORDER BY c.oversized_children DESC, k.id, c.grade LIMIT `+strconv.Itoa(maxOversizedRows), w.Args...)
	if err != nil {
		return nil, fmt.Errorf("oversized classes: %w", err)
	}
	return rows, nil
}

// RoleCount is the staff of one role.
type RoleCount struct {
	Role  string `json:"role" db:"role"`
	Staff int64  `json:"staff" db:"staff"`
}

// Staff returns the staff per role.
func (s *Store) Staff(ctx context.Context, q Query) ([]RoleCount, error) {
	w := q.where()
	w.AddValue("st.census_year = %s", int16(q.Year))
	var rows []RoleCount
	err := s.DB.SelectContext(ctx, &rows, `SELECT st.role, sum(st.staff) AS staff
		FROM kindergarten_staff_census st JOIN kindergarten k ON k.id = st.kindergarten_id
		WHERE `+w.SQL()+` GROUP BY 1
		ORDER BY array_position(ARRAY['principal', 'teacher', 'care_worker', 'health_worker', 'nutrition_worker', 'other'], st.role)`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("staff by role: %w", err)
	}
	return rows, nil
}

// Coverage is the enrolment coverage of one area.
type Coverage struct {
	Code string `json:"code"`
	Name string `json:"name"`
	// Children are the children in 小班, 中班, 大班 and 混龄班.
	Children          int64 `json:"children"`
	PublicChildren    int64 `json:"publicChildren"`
	InclusiveChildren int64 `json:"inclusiveChildren"`
	// Population is the resident children aged 3 to 5, or nil at
	// kindergarten level, where no population exists.
	Population         *int64   `json:"population"`
	GrossEnrolmentRate *float64 `json:"grossEnrolmentRate"`
	PublicShare        float64  `json:"publicShare"`
	InclusiveCoverage  float64  `json:"inclusiveCoverage"`
}

// Coverages returns per child area the gross enrolment rate (children ÷
// resident population aged 3 to 5), the public share (children in public
// kindergartens ÷ children) and the inclusive coverage (children in public
// or inclusive private kindergartens ÷ children).
func (s *Store) Coverages(ctx context.Context, q Query) ([]Coverage, error) {
	w := q.where()
	w.AddValue("c.census_year = %s", int16(q.Year))
	var children []struct {
		Code      string `db:"code"`
		Children  int64  `db:"children"`
		Public    int64  `db:"public"`
		Inclusive int64  `db:"inclusive"`
	}
	err := s.DB.SelectContext(ctx, &children, `SELECT `+q.group()+` AS code, sum(c.boys + c.girls) AS children,
		COALESCE(sum(c.boys + c.girls) FILTER (WHERE k.ownership = 'public'), 0) AS public,
		COALESCE(sum(c.boys + c.girls) FILTER (WHERE k.ownership = 'public' OR k.inclusive), 0) AS inclusive
		FROM kindergarten_class_census c JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE `+w.SQL()+` AND c.grade <> 'nursery' GROUP BY 1 ORDER BY 1`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("children by area: %w", err)
	}

	population := map[string]int64{}
	if q.Area.ChildLevel() != dashboard.LevelKindergarten {
		p := &dashboard.Where{}
		p.AddValue("p.census_year = %s", int16(q.Year))
		p.Add(access.Condition{SQL: "p.age BETWEEN 3 AND 5"})
		p.Add(q.Scope.Filter(access.Columns{Districts: []string{"p.district_code"}, Streets: []string{"p.street_code"}}, p.Next()))
		p.Add(q.Area.Condition("p.district_code", "p.street_code", p.Next()))
		var rows []struct {
			Code       string `db:"code"`
			Population int64  `db:"population"`
		}
		err := s.DB.SelectContext(ctx, &rows, `SELECT `+q.Area.Group("p.district_code", "p.street_code", "''")+` AS code,
			sum(p.population) AS population FROM resident_population p WHERE `+p.SQL()+` GROUP BY 1`, p.Args...)
		if err != nil {
			return nil, fmt.Errorf("population by area: %w", err)
		}
		for _, row := range rows {
			population[row.Code] = row.Population
		}
	}

	codes := make([]string, len(children))
	for i, row := range children {
		codes[i] = row.Code
	}
	names, err := s.areaNames(ctx, q, codes)
	if err != nil {
		return nil, err
	}
	coverages := make([]Coverage, len(children))
	for i, row := range children {
		coverage := Coverage{
			Code: row.Code, Name: names[row.Code], Children: row.Children,
			PublicChildren: row.Public, InclusiveChildren: row.Inclusive,
			PublicShare:       dashboard.Rate(float64(row.Public), float64(row.Children)),
			InclusiveCoverage: dashboard.Rate(float64(row.Inclusive), float64(row.Children)),
		}
		if count, ok := population[row.Code]; ok {
			rate := dashboard.Rate(float64(row.Children), float64(count))
			coverage.Population, coverage.GrossEnrolmentRate = &count, &rate
		}
		coverages[i] = coverage
	}
	return coverages, nil
}

// Workforce is the teachers' qualifications of one area.
type Workforce struct {
	Code                      string  `json:"code"`
	Name                      string  `json:"name"`
	Teachers                  int64   `json:"teachers"`
	BachelorOrHigher          int64   `json:"bachelorOrHigher"`
	MiddleOrSeniorTitle       int64   `json:"middleOrSeniorTitle"`
	PublicKindergartens       int64   `json:"publicKindergartens"`
	PublicWithSeniorTeacher   int64   `json:"publicWithSeniorTeacher"`
	BachelorShare             float64 `json:"bachelorShare"`
	TitleShare                float64 `json:"titleShare"`
	BothStandardsMet          int64   `json:"bothStandardsMet"`
	EducationStandardOnly     int64   `json:"educationStandardOnly"`
	TitleStandardOnly         int64   `json:"titleStandardOnly"`
	NeitherStandardMet        int64   `json:"neitherStandardMet"`
	SeniorTeacherCoverageRate float64 `json:"seniorTeacherCoverageRate"`
}

// Workforces returns the teachers' qualifications per child area, with the
// kindergartens in each quadrant of education × title standard.
func (s *Store) Workforces(ctx context.Context, q Query) ([]Workforce, error) {
	w := q.where()
	w.AddValue("st.census_year = %s", int16(q.Year))
	educationArg := w.Next()
	w.Args = append(w.Args, EducationStandard)
	titleArg := w.Next()
	w.Args = append(w.Args, TitleStandard)

	var rows []Workforce
	err := s.DB.SelectContext(ctx, &rows, `
		WITH per_kindergarten AS (
		    SELECT k.id, `+q.group()+` AS code, k.ownership = 'public' AS public,
		           COALESCE(sum(st.staff), 0) AS teachers,
		           COALESCE(sum(st.staff) FILTER (WHERE st.education IN ('postgraduate', 'bachelor')), 0) AS bachelor,
		           COALESCE(sum(st.staff) FILTER (WHERE st.title IN ('middle', 'senior')), 0) AS titled,
		           COALESCE(sum(st.staff) FILTER (WHERE st.title = 'senior'), 0) AS senior
		    FROM kindergarten_staff_census st JOIN kindergarten k ON k.id = st.kindergarten_id
		    WHERE `+w.SQL()+` AND st.role = 'teacher'
		    GROUP BY k.id, 2, 3
		), standards AS (
		    SELECT *, teachers > 0 AND bachelor >= $`+strconv.Itoa(educationArg)+` * teachers AS education_met,
		              teachers > 0 AND titled >= $`+strconv.Itoa(titleArg)+` * teachers AS title_met
		    FROM per_kindergarten
		)
		SELECT code, sum(teachers) AS teachers, sum(bachelor) AS bachelororhigher, sum(titled) AS middleorseniortitle,
		       count(*) FILTER (WHERE public) AS publickindergartens,
		       count(*) FILTER (WHERE public AND senior > 0) AS publicwithseniorteacher,
		       count(*) FILTER (WHERE education_met AND title_met) AS bothstandardsmet,
		       count(*) FILTER (WHERE education_met AND NOT title_met) AS educationstandardonly,
		       count(*) FILTER (WHERE title_met AND NOT education_met) AS titlestandardonly,
		       count(*) FILTER (WHERE NOT education_met AND NOT title_met) AS neitherstandardmet
		FROM standards GROUP BY code ORDER BY code`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("workforce by area: %w", err)
	}

	codes := make([]string, len(rows))
	for i, row := range rows {
		codes[i] = row.Code
	}
	names, err := s.areaNames(ctx, q, codes)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		row := &rows[i]
		row.Name = names[row.Code]
		row.BachelorShare = dashboard.Rate(float64(row.BachelorOrHigher), float64(row.Teachers))
		row.TitleShare = dashboard.Rate(float64(row.MiddleOrSeniorTitle), float64(row.Teachers))
		row.SeniorTeacherCoverageRate = dashboard.Rate(float64(row.PublicWithSeniorTeacher), float64(row.PublicKindergartens))
	}
	return rows, nil
}

// areaNames returns the name of each code of the query's child level.
func (s *Store) areaNames(ctx context.Context, q Query, codes []string) (map[string]string, error) {
	level := q.Area.ChildLevel()
	var kindergartens map[int64]string
	if level == dashboard.LevelKindergarten {
		ids := make([]int64, 0, len(codes))
		for _, code := range codes {
			id, _ := strconv.ParseInt(code, 10, 64)
			ids = append(ids, id)
		}
		var err error
		if kindergartens, err = s.Names.Kindergartens(ctx, ids); err != nil {
			return nil, err
		}
	}
	names := make(map[string]string, len(codes))
	for _, code := range codes {
		names[code] = s.Names.Label(ctx, level, code, kindergartens)
	}
	return names, nil
}

func codesOf[T any](rows []T, code func(T) string) []string {
	codes := make([]string, len(rows))
	for i, row := range rows {
		codes[i] = code(row)
	}
	return codes
}
