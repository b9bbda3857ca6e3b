-- Rollup shards: concurrent drainer transactions no longer wait on each
-- other's rollup rows.
--
-- The rollup triggers upsert the same few rows from every batch (a day's
-- district × category rows, an hour's street rows), and each batch holds
-- their row locks until it commits, so the drainers ran their commits one
-- at a time. Each backend now upserts into its own shard of every rollup
-- key (its process ID modulo 8), so two drainers meet on a row only when
-- their process IDs share a remainder. Readers already sum over every row
-- of a key, which now includes its shards. The rebuild command writes
-- shard 0.

ALTER TABLE enrolment_rollup ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE enrolment_rollup DROP CONSTRAINT enrolment_rollup_pkey;
ALTER TABLE enrolment_rollup ADD PRIMARY KEY
    (kind, enrolment_year, hour, district_code, street_code, kindergarten_id, category, supplementary, shard);

ALTER TABLE enrolment_daily_rollup ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE enrolment_daily_rollup DROP CONSTRAINT enrolment_daily_rollup_pkey;
ALTER TABLE enrolment_daily_rollup ADD PRIMARY KEY
    (kind, enrolment_year, day, district_code, category, supplementary, shard);

CREATE OR REPLACE FUNCTION enrolment_rollup_registrations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    backend_shard smallint := pg_backend_pid() % 8;
BEGIN
    INSERT INTO enrolment_rollup AS t (kind, enrolment_year, hour, district_code, street_code,
                                       kindergarten_id, category, supplementary, shard, submissions)
    SELECT 'registration', n.enrolment_year, date_trunc('hour', n.accepted_at), n.residence_district_code,
           n.residence_street_code, 0, n.category_group, n.supplementary, backend_shard, count(*)
    FROM inserted n
    GROUP BY 2, 3, 4, 5, 6, 7, 8
    ORDER BY 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (kind, enrolment_year, hour, district_code, street_code, kindergarten_id, category, supplementary, shard)
    DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    INSERT INTO enrolment_daily_rollup AS t (kind, enrolment_year, day, district_code, category, supplementary,
                                             shard, submissions)
    SELECT 'registration', n.enrolment_year, CAST(n.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
           n.residence_district_code, n.category_group, n.supplementary, backend_shard, count(*)
    FROM inserted n
    GROUP BY 2, 3, 4, 5, 6
    ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT (kind, enrolment_year, day, district_code, category, supplementary, shard)
    DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION enrolment_rollup_applications() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    backend_shard smallint := pg_backend_pid() % 8;
BEGIN
    INSERT INTO enrolment_rollup AS t (kind, enrolment_year, hour, district_code, street_code,
                                       kindergarten_id, category, supplementary, shard, submissions)
    SELECT 'application', n.enrolment_year, date_trunc('hour', n.accepted_at), n.district_code,
           COALESCE(r.residence_street_code, ''), COALESCE(c.kindergarten_id, 0), n.category_code,
           n.supplementary, backend_shard, count(*)
    FROM inserted n
    LEFT JOIN registration r ON r.registration_number = n.registration_number
    LEFT JOIN campus c ON c.id = n.campus_choices[1]
    GROUP BY 2, 3, 4, 5, 6, 7, 8
    ORDER BY 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (kind, enrolment_year, hour, district_code, street_code, kindergarten_id, category, supplementary, shard)
    DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    INSERT INTO enrolment_daily_rollup AS t (kind, enrolment_year, day, district_code, category, supplementary,
                                             shard, submissions)
    SELECT 'application', n.enrolment_year, CAST(n.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
           n.district_code, n.category_code, n.supplementary, backend_shard, count(*)
    FROM inserted n
    GROUP BY 2, 3, 4, 5, 6
    ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT (kind, enrolment_year, day, district_code, category, supplementary, shard)
    DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    RETURN NULL;
END $$;
