package certificates

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/dashboard"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Store reads the certificate rollup, the published forms and the
// certificate library.
type Store struct {
	DB *sqlx.DB
}

// districtColumns tie the panel's rows (alias c) to a data scope. The
// figures have a district only, so the handler rejects street and
// kindergarten scopes before querying.
func districtColumns(alias string) access.Columns {
	return access.Columns{Districts: []string{alias + ".district_code"}}
}

// rollupRow is the records of one kind, district, certificate type and
// source in the range.
type rollupRow struct {
	Kind            string `db:"kind"`
	District        string `db:"district_code"`
	CertificateType string `db:"certificate_type"`
	Source          string `db:"source"`
	Records         int64  `db:"records"`
}

// Sources of certificate_rollup rows.
const (
	sourceRecord   = "record"
	sourceFetched  = "fetched"
	sourceUploaded = "uploaded"
)

// rollup returns the certificate rollup of the year's range within the
// scope and area, summed over days and shards.
func (s *Store) rollup(ctx context.Context, q dashboardenrolment.Query) ([]rollupRow, error) {
	w := &dashboard.Where{}
	w.AddValue("c.enrolment_year = %s", int16(q.Year))
	w.AddValue("c.day >= %s", shanghaiDay(q.Range.From))
	w.AddValue("c.day < %s", shanghaiDay(q.Range.To))
	w.Add(q.Scope.Filter(districtColumns("c"), w.Next()))
	w.Add(areaCondition(q.Area, "c", w.Next()))
	var rows []rollupRow
	err := s.DB.SelectContext(ctx, &rows, `
		SELECT c.kind, c.district_code, c.certificate_type, c.source, sum(c.records) AS records
		FROM certificate_rollup c
		WHERE `+w.SQL()+`
		GROUP BY 1, 2, 3, 4
		ORDER BY 1, 2, 3, 4`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("read the certificate rollup: %w", err)
	}
	return rows, nil
}

// requirementRow is one certificate that a district's published entry
// forms request.
type requirementRow struct {
	District string `db:"district_code"`
	Code     string `db:"code"`
	Name     string `db:"name"`
	Required bool   `db:"required"`
}

// requirements returns, per district within the scope and area, the
// certificates requested by the forms of its published entries of the
// year. An entry uses its district's latest form for its household
// category, or the latest city-wide application form when the district
// has none, as the edge's catalogue does.
func (s *Store) requirements(ctx context.Context, q dashboardenrolment.Query) ([]requirementRow, error) {
	w := &dashboard.Where{}
	w.AddValue("e.enrolment_year = %s", int16(q.Year))
	w.Add(access.Condition{SQL: "e.published"})
	w.Add(q.Scope.Filter(districtColumns("e"), w.Next()))
	w.Add(areaCondition(q.Area, "e", w.Next()))
	var rows []requirementRow
	err := s.DB.SelectContext(ctx, &rows, `
		WITH latest AS (
		    SELECT DISTINCT ON (COALESCE(district_code, ''), COALESCE(category_code, ''))
		           district_code, category_code, body
		    FROM form_schema
		    WHERE kind = 'application'
		    ORDER BY COALESCE(district_code, ''), COALESCE(category_code, ''), version DESC
		)
		SELECT e.district_code, c->>'code' AS code, max(COALESCE(c->>'name', '')) AS name,
		       bool_or(COALESCE(CAST(c->>'required' AS boolean), false)) AS required
		FROM entry e
		CROSS JOIN LATERAL (
		    SELECT f.body FROM latest f
		    WHERE (f.district_code = e.district_code AND f.category_code = e.category_code) OR f.district_code IS NULL
		    ORDER BY f.district_code NULLS LAST
		    LIMIT 1
		) form
		CROSS JOIN LATERAL jsonb_array_elements(COALESCE(form.body->'sections', '[]')) section
		CROSS JOIN LATERAL jsonb_array_elements(COALESCE(section->'certificates', '[]')) c
		WHERE `+w.SQL()+` AND c->>'code' IS NOT NULL
		GROUP BY 1, 2
		ORDER BY 1, 2`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("read the certificates of the published forms: %w", err)
	}
	return s.withRegistrationCertificates(ctx, q, rows)
}

// withRegistrationCertificates adds the certificates that the city-wide
// registration form offers (its certificates field) to every district
// that has a published entry in the scope, because every family of the
// district registers on that form. A type both forms request is listed
// once, required when either requires it.
func (s *Store) withRegistrationCertificates(ctx context.Context, q dashboardenrolment.Query, rows []requirementRow) ([]requirementRow, error) {
	var offered []requirementRow
	err := s.DB.SelectContext(ctx, &offered, `
		WITH form AS (
		    SELECT body FROM form_schema
		    WHERE kind = 'registration' AND district_code IS NULL
		    ORDER BY version DESC LIMIT 1
		)
		SELECT DISTINCT ON (o->>'value') '' AS district_code, o->>'value' AS code, COALESCE(o->>'label', '') AS name,
		       COALESCE(CAST(f->>'required' AS boolean), false) AS required
		FROM form
		CROSS JOIN LATERAL jsonb_array_elements(COALESCE(form.body->'sections', '[]')) section
		CROSS JOIN LATERAL jsonb_array_elements(COALESCE(section->'fields', '[]')) f
		CROSS JOIN LATERAL jsonb_array_elements(COALESCE(f->'options', '[]')) o
		WHERE f->>'type' = 'certificates' AND o->>'value' IS NOT NULL
		ORDER BY o->>'value'`)
	if err != nil {
		return nil, fmt.Errorf("read the certificates of the registration form: %w", err)
	}
	if len(offered) == 0 {
		return rows, nil
	}
	w := &dashboard.Where{}
	w.AddValue("e.enrolment_year = %s", int16(q.Year))
	w.Add(access.Condition{SQL: "e.published"})
	w.Add(q.Scope.Filter(districtColumns("e"), w.Next()))
	w.Add(areaCondition(q.Area, "e", w.Next()))
	var districts []string
	if err := s.DB.SelectContext(ctx, &districts, `SELECT DISTINCT e.district_code FROM entry e WHERE `+w.SQL()+` ORDER BY 1`, w.Args...); err != nil {
		return nil, fmt.Errorf("read the districts with published entries: %w", err)
	}
	index := make(map[[2]string]int, len(rows))
	for i, row := range rows {
		index[[2]string{row.District, row.Code}] = i
	}
	for _, district := range districts {
		for _, certificate := range offered {
			if i, ok := index[[2]string{district, certificate.Code}]; ok {
				rows[i].Required = rows[i].Required || certificate.Required
				continue
			}
			certificate.District = district
			rows = append(rows, certificate)
		}
	}
	slices.SortFunc(rows, func(a, b requirementRow) int {
		return cmp.Or(strings.Compare(a.District, b.District), strings.Compare(a.Code, b.Code))
	})
	return rows, nil
}

// district is a district's code and name.
type district struct {
	Code string `db:"code"`
	Name string `db:"name"`
}

// districts returns the districts within the scope and area, in the city's
// order.
func (s *Store) districts(ctx context.Context, q dashboardenrolment.Query) ([]district, error) {
	w := &dashboard.Where{}
	w.Add(q.Scope.Filter(access.Columns{Districts: []string{"d.code"}}, w.Next()))
	if q.Area.Level != dashboard.LevelCity {
		w.AddValue("d.code = %s", q.Area.DistrictCode)
	}
	var rows []district
	err := s.DB.SelectContext(ctx, &rows, `SELECT d.code, d.name FROM district d WHERE `+w.SQL()+` ORDER BY d.sort_order`, w.Args...)
	if err != nil {
		return nil, fmt.Errorf("read the districts: %w", err)
	}
	return rows, nil
}

// libraryNames returns the names of the city's certificate library by
// code.
func (s *Store) libraryNames(ctx context.Context) (map[string]string, error) {
	var rows []struct {
		Code string `db:"code"`
		Name string `db:"name"`
	}
	if err := s.DB.SelectContext(ctx, &rows, `SELECT code, name FROM form_certificate WHERE district_code IS NULL`); err != nil {
		return nil, fmt.Errorf("read the certificate library: %w", err)
	}
	names := make(map[string]string, len(rows))
	for _, row := range rows {
		names[row.Code] = row.Name
	}
	return names, nil
}

// callWindow returns the Shanghai days [first, end) of the year's
// enrolment window, from the day registration opens to the day
// applications close, inclusive.
func (s *Store) callWindow(ctx context.Context, year int) (first, end string, err error) {
	var opens, closes time.Time
	err = s.DB.QueryRowContext(ctx, `SELECT registration_opens_at, application_closes_at FROM enrolment_year WHERE year = $1`,
		int16(year)).Scan(&opens, &closes)
	if err != nil {
		return "", "", fmt.Errorf("enrolment window of %d: %w", year, err)
	}
	return shanghaiDay(opens), shanghaiDay(closes.Add(24 * time.Hour)), nil
}

// areaCondition narrows to the area's district. A street area narrows to
// its district, because the figures have no street.
func areaCondition(area dashboard.Area, alias string, next int) access.Condition {
	if area.Level == dashboard.LevelCity {
		return access.Condition{SQL: "TRUE"}
	}
	district := dashboard.Area{Level: dashboard.LevelDistrict, DistrictCode: area.DistrictCode}
	return district.Condition(alias+".district_code", "", next)
}

func shanghaiDay(t time.Time) string {
	return t.In(enrol.Shanghai).Format(time.DateOnly)
}
