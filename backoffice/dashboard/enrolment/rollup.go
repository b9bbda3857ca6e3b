package enrolment

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// rebuildQueries recompute the rollups from the raw tables with the same
// attribution and the same live records the triggers count: every
// registration, and the applications that are not returned or deleted
// (liveApplication). Shanghai has no daylight saving time, so
// every hour lies inside one Shanghai day and the daily rollup sums the
// hourly one.
const rebuildQueries = `
DELETE FROM enrolment_rollup;
DELETE FROM enrolment_daily_rollup;
INSERT INTO enrolment_rollup (kind, enrolment_year, hour, district_code, street_code,
                              kindergarten_id, category, supplementary, submissions)
SELECT 'registration', r.enrolment_year, date_trunc('hour', r.accepted_at), r.residence_district_code,
       r.residence_street_code, 0, r.category_group, r.supplementary, count(*)
FROM registration r
GROUP BY 2, 3, 4, 5, 6, 7, 8;
INSERT INTO enrolment_rollup (kind, enrolment_year, hour, district_code, street_code,
                              kindergarten_id, category, supplementary, submissions)
SELECT 'application', a.enrolment_year, date_trunc('hour', a.accepted_at), a.district_code,
       COALESCE(r.residence_street_code, ''), COALESCE(c.kindergarten_id, 0), a.category_code,
       a.supplementary, count(*)
FROM application a
LEFT JOIN registration r ON r.registration_number = a.registration_number
LEFT JOIN campus c ON c.id = a.campus_choices[1]
WHERE ` + liveApplication + `
GROUP BY 2, 3, 4, 5, 6, 7, 8;
INSERT INTO enrolment_daily_rollup (kind, enrolment_year, day, district_code, category, supplementary, submissions)
SELECT kind, enrolment_year, CAST(hour AT TIME ZONE 'Asia/Shanghai' AS date), district_code, category, supplementary,
       sum(submissions)
FROM enrolment_rollup
GROUP BY 1, 2, 3, 4, 5, 6;
DELETE FROM certificate_rollup;
INSERT INTO certificate_rollup (kind, enrolment_year, day, district_code, certificate_type, source, records)
SELECT 'registration', r.enrolment_year, CAST(r.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
       r.residence_district_code, k.certificate_type, k.source, count(*)
FROM registration r
CROSS JOIN LATERAL certificate_rollup_keys(r.certificates_fetched, r.certificates_uploaded) k
WHERE r.certificates_fetched IS NOT NULL AND r.certificates_uploaded IS NOT NULL
GROUP BY 2, 3, 4, 5, 6;
INSERT INTO certificate_rollup (kind, enrolment_year, day, district_code, certificate_type, source, records)
SELECT 'application', a.enrolment_year, CAST(a.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
       a.district_code, k.certificate_type, k.source, count(*)
FROM application a
CROSS JOIN LATERAL certificate_rollup_keys(ARRAY[]::text[], a.certificates_uploaded) k
WHERE a.certificates_uploaded IS NOT NULL AND a.status NOT IN ('returned', 'deleted')
GROUP BY 2, 3, 4, 5, 6;`

// Rebuild recomputes the enrolment rollups and the certificate rollup
// from the registration and application tables in one transaction, and
// returns the number of enrolment_rollup rows. It holds a SHARE lock on both tables meanwhile, so the drainer's
// inserts wait instead of being counted twice or not at all. It then
// vacuums the rollups.
func Rebuild(ctx context.Context, db *sqlx.DB) (int64, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `LOCK TABLE registration, application IN SHARE MODE`); err != nil {
		return 0, fmt.Errorf("lock the enrolment tables: %w", err)
	}
	if _, err := tx.ExecContext(ctx, rebuildQueries); err != nil {
		return 0, fmt.Errorf("rebuild the enrolment rollup: %w", err)
	}
	var rows int64
	if err := tx.GetContext(ctx, &rows, `SELECT count(*) FROM enrolment_rollup`); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return rows, vacuum(ctx, db)
}

// vacuum refreshes the rollups' statistics and visibility maps after a
// bulk change, so the planner has their current size and drill-downs can use
// index-only scans without waiting for autovacuum.
func vacuum(ctx context.Context, db *sqlx.DB) error {
	if _, err := db.ExecContext(ctx, `VACUUM (ANALYZE) enrolment_rollup, enrolment_daily_rollup, certificate_rollup`); err != nil {
		return fmt.Errorf("vacuum the enrolment rollups: %w", err)
	}
	return nil
}
