package enrolment

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// GeneratedKeyID marks the registrations and applications Generate writes.
// Their sealed columns hold one zero byte, not ciphertext, so nothing can
// open them. They exist only for load tests and demo figures.
// NOTE: the registration and application lists show their names as
// （无法解密） and log an error per row, so keep them out of databases
// whose lists people use.
const GeneratedKeyID = "generated"

// generateRegistrations writes $2 registrations of year $1. Numbers are
// the year, the digit 9 and a 7-digit sequence, so they collide with the
// edge's numbers only after 9,000,000 real registrations in one year.
// 40% arrive in the first 12 hours, the rest spread over the window. Residence streets cycle through every street,
// and the category groups are 60% 本市户籍, 30% 外省市, 7% 港澳台外 and 3%
// 其他. Certificates: 70% fetch the birth certificate and 20% upload it,
// half of the 本市户籍 registrations fetch the household register, and a
// third of the others upload a residence permit.
const generateRegistrations = `
WITH y AS (
    SELECT year, registration_opens_at AS opens,
           EXTRACT(EPOCH FROM registration_closes_at - registration_opens_at) AS seconds
    FROM enrolment_year WHERE year = $1
), s AS (
    SELECT code, district_code, row_number() OVER (ORDER BY code) - 1 AS n, count(*) OVER () AS total FROM street
)
INSERT INTO registration (registration_number, enrolment_year, child_index, child_document_type, child_name,
    child_sex, child_birth_date, child_nationality, category_group, hukou_in_shanghai, hukou_district_code,
    residence_district_code, residence_street_code, residence_address, hukou_at_residence, guardians,
    guardian_indexes, guardian_shanghai_hukou, guardian_points_qualified, schema_version, key_id,
    payload_hash, owner_index, supplementary, status, accepted_at, certificates_fetched, certificates_uploaded)
SELECT y.year || '9' || lpad(CAST(i AS text), 7, '0'), y.year, '\xfe'::bytea || int8send(i), 'resident_id', '\x00'::bytea,
    CASE WHEN i % 2 = 0 THEN 'M' ELSE 'F' END, make_date(y.year - 4, 9, 1) + CAST(i % 365 AS integer), 'CHN',
    g.category_group, g.category_group = 'shanghai_hukou',
    CASE WHEN g.category_group = 'shanghai_hukou' THEN s.district_code END,
    s.district_code, s.code, '\x00'::bytea, g.category_group = 'shanghai_hukou' AND i % 3 <> 0, '\x00'::bytea,
    ARRAY['\x00'::bytea], g.category_group = 'shanghai_hukou', i % 4 = 0, 1, 'generated',
    '\x00'::bytea, '\x00'::bytea, i % 50 = 0, CASE WHEN i % 5 = 0 THEN 'needs_manual_verification' ELSE 'verified' END,
    y.opens + make_interval(secs => CASE WHEN i % 10 < 4 THEN (i * 7919) % 43200
                                         ELSE (i * 104729) % CAST(y.seconds AS bigint) END),
    array_remove(ARRAY[CASE WHEN i % 10 < 7 THEN 'birth_certificate' END,
                       CASE WHEN g.category_group = 'shanghai_hukou' AND i % 10 < 5 THEN 'household_register' END], NULL),
    array_remove(ARRAY[CASE WHEN i % 10 IN (7, 8) THEN 'birth_certificate' END,
                       CASE WHEN g.category_group <> 'shanghai_hukou' AND i % 3 = 0 THEN 'residence_permit' END], NULL)
FROM y, generate_series(CAST(1 AS bigint), CAST($2 AS bigint)) AS i
JOIN s ON s.n = (i * 31) % s.total
CROSS JOIN LATERAL (SELECT CASE WHEN i % 100 < 60 THEN 'shanghai_hukou' WHEN i % 100 < 90 THEN 'other_province'
                                WHEN i % 100 < 97 THEN 'hmt_foreign' ELSE 'other' END AS category_group) g`

// generateApplications writes an application for 7 in 10 generated
// registrations of year $1, in the residence district, with a category of
// the registration's group and the district's campuses in turn as first
// choice. 30% are admitted, up to three days after they applied. Three in
// four upload the household register.
const generateApplications = `
WITH y AS (
    SELECT year, application_opens_at AS opens,
           EXTRACT(EPOCH FROM application_closes_at - application_opens_at) AS seconds
    FROM enrolment_year WHERE year = $1
), c AS (
    SELECT id, district_code, row_number() OVER (PARTITION BY district_code ORDER BY id) - 1 AS n,
           count(*) OVER (PARTITION BY district_code) AS total
    FROM campus
), k AS (
    SELECT code, group_code, row_number() OVER (PARTITION BY group_code ORDER BY code) - 1 AS n,
           count(*) OVER (PARTITION BY group_code) AS total
    FROM household_category
), r AS (
    SELECT registration_number, enrolment_year, child_index, residence_district_code, category_group,
           supplementary, CAST(substr(registration_number, 6) AS bigint) AS i
    FROM registration WHERE enrolment_year = $1 AND key_id = 'generated'
)
INSERT INTO application (application_number, registration_number, enrolment_year, child_index, district_code,
    entry_id, category_code, campus_choices, schema_version, key_id, payload_hash, owner_index,
    supplementary, status, accepted_at, admitted_at, certificates_uploaded)
SELECT r.enrolment_year || right(r.residence_district_code, 2) || '9' || lpad(CAST(r.i AS text), 7, '0'),
    r.registration_number, r.enrolment_year, r.child_index, r.residence_district_code,
    COALESCE((SELECT e.id FROM entry e WHERE e.enrolment_year = r.enrolment_year
              AND e.district_code = r.residence_district_code AND e.category_code = k.code), 0),
    k.code, ARRAY[c.id], 1, 'generated', '\x00'::bytea, '\x00'::bytea, r.supplementary,
    CASE WHEN r.i % 10 < 3 THEN 'admitted' WHEN r.i % 10 < 5 THEN 'documents_verified' ELSE 'recorded' END,
    y.opens + make_interval(secs => (r.i * 7907) % CAST(y.seconds AS bigint)),
    CASE WHEN r.i % 10 < 3 THEN y.opens + make_interval(secs => (r.i * 7907) % CAST(y.seconds AS bigint))
                                        + make_interval(mins => CAST((r.i * 31) % 4320 AS integer)) END,
    CASE WHEN r.i % 4 = 0 THEN ARRAY[]::text[] ELSE ARRAY['household_register'] END
FROM r CROSS JOIN y
JOIN c ON c.district_code = r.residence_district_code AND c.n = r.i % c.total
JOIN k ON k.group_code = r.category_group AND k.n = r.i % k.total
WHERE r.i % 10 < 7`

// Generate replaces the generated registrations and applications of year
// with the given number of new registrations (and 70% as many applications), then
// rebuilds the rollup. The same arguments give the same rows. It returns
// the numbers of registrations and applications written.
func Generate(ctx context.Context, db *sqlx.DB, year, registrations int) (int64, int64, error) {
	if registrations < 1 || registrations > 9_999_999 {
		return 0, 0, fmt.Errorf("invalid number of registrations %d: use 1 to 9999999", registrations)
	}

	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM application WHERE enrolment_year = $1 AND key_id = 'generated'`, year); err != nil {
		return 0, 0, fmt.Errorf("delete generated applications: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM registration WHERE enrolment_year = $1 AND key_id = 'generated'`, year); err != nil {
		return 0, 0, fmt.Errorf("delete generated registrations: %w", err)
	}

	inserted, err := tx.ExecContext(ctx, generateRegistrations, year, registrations)
	if err != nil {
		return 0, 0, fmt.Errorf("generate registrations: %w", err)
	}
	registered, _ := inserted.RowsAffected()
	if registered == 0 {
		return 0, 0, fmt.Errorf("generate registrations: enrolment year %d does not exist", year)
	}
	inserted, err = tx.ExecContext(ctx, generateApplications, year)
	if err != nil {
		return 0, 0, fmt.Errorf("generate applications: %w", err)
	}
	applied, _ := inserted.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, 0, err
	}

	if _, err := db.ExecContext(ctx, `ANALYZE registration, application`); err != nil {
		return 0, 0, fmt.Errorf("analyze the enrolment tables: %w", err)
	}
	if _, err := Rebuild(ctx, db); err != nil {
		return 0, 0, err
	}
	return registered, applied, nil
}
