// Package figures loads the figures the dashboards show but no system of
// ours records: resident population by street and age, the yearly census of
// kindergarten classes, children and staff, nursery-class places, and
// help-desk and hotline records. They come from
// a CSV or xlsx import, or from Generate for demos and tests.
package figures

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"
)

// ClassSizeLimits are the largest classes each grade may have: 托班 20,
// 小班 25, 中班 30, 大班 35 and 混龄班 30 children. The generator's SQL
// repeats them.
// NOTE: the values are the commonly cited national limits, not checked
// against the current regulation text, and 托班 20 is an assumption.
var ClassSizeLimits = map[string]int{"nursery": 20, "junior": 25, "middle": 30, "senior": 35, "mixed": 30}

// generateQueries fill one census year ($1) from the kindergartens and the
// seat plans of that year (or the latest earlier year with plans). Every
// value derives from codes and IDs by fixed arithmetic, so the same
// database gives the same figures.
var generateQueries = []string{
	// Resident population per street and age: the seats of the street's
	// kindergartens in the grade that age attends, times 0.95 to 1.09,
	// plus 10 to 109 children who attend elsewhere or not at all. Age 3
	// takes 小班, 4 中班 and 5 大班. Ages 0 to 2 take 小班 and age 6 大班.
	`WITH plan_year AS (
	    SELECT max(enrolment_year) AS year FROM seat_plan WHERE enrolment_year <= $1
	), seats AS (
	    SELECT c.street_code, p.grade, sum(p.seats) AS seats
	    FROM seat_plan p JOIN campus c ON c.id = p.campus_id JOIN plan_year y ON p.enrolment_year = y.year
	    GROUP BY 1, 2
	)
	INSERT INTO resident_population (census_year, district_code, street_code, age, population)
	SELECT $1, s.district_code, s.code, a.age,
	       COALESCE((SELECT g.seats FROM seats g WHERE g.street_code = s.code
	                 AND g.grade = CASE WHEN a.age <= 3 THEN 'junior' WHEN a.age = 4 THEN 'middle' ELSE 'senior' END), 0)
	           * (95 + (CAST(right(s.code, 3) AS integer) * 7 + a.age * 3) % 15) / 100
	       + 10 + (CAST(right(s.code, 3) AS integer) * 37 + a.age * 91) % 100
	FROM street s CROSS JOIN generate_series(0, 6) AS a(age)
	ON CONFLICT (census_year, street_code, age) DO UPDATE SET population = EXCLUDED.population`,

	// Classes: the planned classes hold each grade's seats at the class-size
	// limit. Actual children are 88% to 100% of the seats, and every
	// seventh kindergarten runs one class of each grade above the limit.
	`WITH plan_year AS (
	    SELECT max(enrolment_year) AS year FROM seat_plan WHERE enrolment_year <= $1
	), seats AS (
	    SELECT c.kindergarten_id, p.grade, sum(p.seats) AS seats
	    FROM seat_plan p JOIN campus c ON c.id = p.campus_id JOIN plan_year y ON p.enrolment_year = y.year
	    GROUP BY 1, 2
	), sized AS (
	    SELECT kindergarten_id, grade, seats,
	           CASE grade WHEN 'nursery' THEN 20 WHEN 'junior' THEN 25 WHEN 'middle' THEN 30
	                      WHEN 'senior' THEN 35 ELSE 30 END AS size_limit,
	           seats * (88 + (kindergarten_id * 7 + length(grade)) % 13) / 100 AS children
	    FROM seats
	)
	INSERT INTO kindergarten_class_census (census_year, kindergarten_id, grade, planned_classes, classes,
	    boys, girls, oversized_classes, oversized_children)
	SELECT $1, kindergarten_id, grade, (seats + size_limit - 1) / size_limit,
	       GREATEST((children + size_limit - 1) / size_limit - CASE WHEN kindergarten_id % 7 = 0 THEN 1 ELSE 0 END, 1),
	       children * 51 / 100, children - children * 51 / 100,
	       CASE WHEN kindergarten_id % 7 = 0 AND children > size_limit THEN 1 ELSE 0 END,
	       CASE WHEN kindergarten_id % 7 = 0 AND children > size_limit THEN size_limit + 3 ELSE 0 END
	FROM sized WHERE children > 0
	ON CONFLICT (census_year, kindergarten_id, grade) DO UPDATE SET planned_classes = EXCLUDED.planned_classes,
	    classes = EXCLUDED.classes, boys = EXCLUDED.boys, girls = EXCLUDED.girls,
	    oversized_classes = EXCLUDED.oversized_classes, oversized_children = EXCLUDED.oversized_children`,

	// Children by nationality, hukou and age: each kindergarten's boys and
	// girls of a grade, numbered from 0, take one value each by fixed
	// arithmetic on their number and the kindergarten, so the totals equal
	// the class census. About 2% are foreign and 2% from Hong Kong, Macao or
	// Taiwan, with no hukou. Of the rest 60% have a hukou in the
	// kindergarten's district, 15% elsewhere in Shanghai, 20% in another
	// province and 5% none. The age on 31 August is 2 in 托班, 3 in 小班, 4
	// in 中班 and 5 in 大班, one year more for every 25th child, and 3 to 5
	// in 混龄班.
	`WITH children AS (
	    SELECT c.kindergarten_id, c.grade, v.sex, i,
	           (i + c.kindergarten_id) % 50 AS nationality_draw,
	           (i * 7 + c.kindergarten_id) % 20 AS hukou_draw
	    FROM kindergarten_class_census c
	    CROSS JOIN LATERAL (VALUES ('male', c.boys), ('female', c.girls)) AS v(sex, children)
	    CROSS JOIN LATERAL generate_series(0, v.children - 1) AS i
	    WHERE c.census_year = $1
	), described AS (
	    SELECT kindergarten_id, grade, sex,
	           CASE nationality_draw WHEN 7 THEN 'foreign' WHEN 23 THEN 'hmt' ELSE 'chinese' END AS nationality,
	           CASE WHEN nationality_draw IN (7, 23) THEN 'none' WHEN hukou_draw < 12 THEN 'district'
	                WHEN hukou_draw < 15 THEN 'city' WHEN hukou_draw < 19 THEN 'other_province' ELSE 'none' END AS hukou,
	           CASE grade WHEN 'mixed' THEN 3 + i % 3
	                      ELSE CASE grade WHEN 'nursery' THEN 2 WHEN 'junior' THEN 3 WHEN 'middle' THEN 4 ELSE 5 END
	                           + CASE WHEN i % 25 = 24 THEN 1 ELSE 0 END END AS age
	    FROM children
	)
	INSERT INTO kindergarten_child_census (census_year, kindergarten_id, grade, sex, nationality, hukou, age, children)
	SELECT $1, kindergarten_id, grade, sex, nationality, hukou, age, count(*)
	FROM described GROUP BY 2, 3, 4, 5, 6, 7
	ON CONFLICT (census_year, kindergarten_id, grade, sex, nationality, hukou, age) DO UPDATE SET children = EXCLUDED.children`,

	// Staff: one principal, two teachers and one care worker per class, one
	// health and one nutrition worker, and two others. Teachers' education
	// and titles vary with the kindergarten, public ones better qualified.
	`WITH classes AS (
	    SELECT k.id, k.ownership, sum(c.classes) AS classes
	    FROM kindergarten_class_census c JOIN kindergarten k ON k.id = c.kindergarten_id
	    WHERE c.census_year = $1 GROUP BY 1, 2
	), posts AS (
	    SELECT id, 'principal' AS role, 'bachelor' AS education,
	           CASE WHEN id % 3 = 0 THEN 'senior' ELSE 'middle' END AS title, 1 AS staff FROM classes
	    UNION ALL
	    SELECT id, 'teacher', 'bachelor', 'middle', classes * (CASE WHEN ownership = 'public' THEN 8 ELSE 5 END) / 10 FROM classes
	    UNION ALL
	    SELECT id, 'teacher', 'associate', 'junior', classes * 2 - classes * (CASE WHEN ownership = 'public' THEN 8 ELSE 5 END) / 10
	           - CASE WHEN ownership = 'public' AND id % 4 <> 0 THEN 1 ELSE 0 END FROM classes
	    UNION ALL
	    SELECT id, 'teacher', 'postgraduate', 'senior', 1 FROM classes WHERE ownership = 'public' AND id % 4 <> 0
	    UNION ALL
	    SELECT id, 'care_worker', 'secondary', 'none', classes FROM classes
	    UNION ALL
	    SELECT id, 'health_worker', 'associate', 'none', 1 FROM classes
	    UNION ALL
	    SELECT id, 'nutrition_worker', 'secondary', 'none', 1 FROM classes
	    UNION ALL
	    SELECT id, 'other', 'secondary', 'none', 2 FROM classes
	)
	INSERT INTO kindergarten_staff_census (census_year, kindergarten_id, role, education, title, staff)
	SELECT $1, id, role, education, title, sum(staff) FROM posts WHERE staff > 0 GROUP BY 2, 3, 4, 5
	ON CONFLICT (census_year, kindergarten_id, role, education, title) DO UPDATE SET staff = EXCLUDED.staff`,

	// Public opinion: 3,000 help-desk questions and hotline calls over the
	// year's registration and application windows, a third of them calls,
	// spread over the districts, half about operating the platform.
	`WITH y AS (
	    SELECT registration_opens_at AS opens,
	           CAST(EXTRACT(EPOCH FROM application_closes_at - registration_opens_at) AS bigint) AS seconds
	    FROM enrolment_year WHERE year = $1
	), d AS (
	    SELECT code, row_number() OVER (ORDER BY code) - 1 AS n, count(*) OVER () AS total FROM district
	)
	INSERT INTO opinion_record (source, external_id, received_at, district_code, problem_type, status, channel)
	SELECT CASE WHEN i % 3 = 0 THEN 'hotline' ELSE 'helpdesk' END, 'generated-' || $1 || '-' || i,
	       y.opens + make_interval(secs => (i * 7919) % y.seconds), d.code,
	       CASE WHEN i % 10 < 5 THEN 'platform' WHEN i % 10 < 8 THEN 'policy' ELSE 'other' END,
	       CASE WHEN i % 20 < 15 THEN 'resolved' WHEN i % 20 < 18 THEN 'in_progress' ELSE 'unresolved' END,
	       CASE WHEN i % 3 = 0 THEN CASE WHEN i % 5 < 2 THEN 'human' ELSE 'self_service' END END
	FROM y CROSS JOIN generate_series(CAST(1 AS bigint), 3000) AS i
	JOIN d ON d.n = i % d.total
	ON CONFLICT (source, external_id) DO NOTHING`,

	// Nursery places: the nursery-class seats, filled 60% to 100%.
	`WITH plan_year AS (
	    SELECT max(enrolment_year) AS year FROM seat_plan WHERE enrolment_year <= $1
	)
	INSERT INTO nursery_place (census_year, kindergarten_id, places, enrolled)
	SELECT $1, c.kindergarten_id, sum(p.seats), sum(p.seats) * (60 + c.kindergarten_id % 41) / 100
	FROM seat_plan p JOIN campus c ON c.id = p.campus_id JOIN plan_year y ON p.enrolment_year = y.year
	WHERE p.grade = 'nursery'
	GROUP BY c.kindergarten_id
	ON CONFLICT (census_year, kindergarten_id) DO UPDATE SET places = EXCLUDED.places, enrolled = EXCLUDED.enrolled`,
}

// Generate writes the figures of census year in one transaction,
// replacing the rows of that year that exist.
func Generate(ctx context.Context, db *sqlx.DB, year int) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, table := range []string{"kindergarten_staff_census", "kindergarten_child_census", "kindergarten_class_census", "nursery_place", "resident_population"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE census_year = $1`, year); err != nil {
			return fmt.Errorf("clear %s of %d: %w", table, year, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM opinion_record WHERE external_id LIKE 'generated-' || $1 || '-%'`, strconv.Itoa(year)); err != nil {
		return fmt.Errorf("clear generated opinion records of %d: %w", year, err)
	}
	for i, query := range generateQueries {
		if _, err := tx.ExecContext(ctx, query, year); err != nil {
			return fmt.Errorf("generate figures of %d, step %d: %w", year, i+1, err)
		}
	}
	return tx.Commit()
}
