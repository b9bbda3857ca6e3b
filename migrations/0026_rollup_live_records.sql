-- Enrolment rollups count live records only: a deleted registration
-- leaves the registration figures, and a returned (已退回) or deleted
-- (已删除) application leaves the application figures, so a child who is
-- returned and applies again counts once.
--
-- The insert triggers of 0019 stay statement-level and only skip inserted
-- applications that are already returned or deleted (imports). Two more
-- statement-level triggers take records out again:
--   * AFTER DELETE on registration and on application subtracts the
--     deleted rows that were counted.
--   * AFTER UPDATE on application subtracts the rows that were counted
--     before the statement and adds the rows counted after it, for the
--     rows whose status or rollup key changed, so a return, a deletion or
--     an edit of a counted column moves the figures.
-- PostgreSQL rejects transition tables on an UPDATE OF column-list
-- trigger, so the update trigger runs after every UPDATE statement on
-- application and finds the changed rows by joining its transition
-- tables. No UPDATE changes a registration's rollup key (district,
-- street, category group, supplementary flag, acceptance time), so
-- registration has no update trigger.
--
-- The subtractions go into the updating backend's shard (its process ID
-- modulo 8) like the insert triggers' additions, so one shard row may go
-- below zero while the sum over a key's shards, which is all readers and
-- the rebuild use, stays the number of live records. The non-negative
-- checks on single shard rows therefore go.

ALTER TABLE enrolment_rollup DROP CONSTRAINT enrolment_rollup_submissions_check;
ALTER TABLE enrolment_daily_rollup DROP CONSTRAINT enrolment_daily_rollup_submissions_check;

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
    WHERE n.status NOT IN ('returned', 'deleted')
    GROUP BY 2, 3, 4, 5, 6, 7, 8
    ORDER BY 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (kind, enrolment_year, hour, district_code, street_code, kindergarten_id, category, supplementary, shard)
    DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    INSERT INTO enrolment_daily_rollup AS t (kind, enrolment_year, day, district_code, category, supplementary,
                                             shard, submissions)
    SELECT 'application', n.enrolment_year, CAST(n.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
           n.district_code, n.category_code, n.supplementary, backend_shard, count(*)
    FROM inserted n
    WHERE n.status NOT IN ('returned', 'deleted')
    GROUP BY 2, 3, 4, 5, 6
    ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT (kind, enrolment_year, day, district_code, category, supplementary, shard)
    DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    RETURN NULL;
END $$;

-- Subtracts deleted registrations. Their applications are deleted first,
-- because the application's foreign key allows no other order.
CREATE FUNCTION enrolment_rollup_deleted_registrations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    backend_shard smallint := pg_backend_pid() % 8;
BEGIN
    INSERT INTO enrolment_rollup AS t (kind, enrolment_year, hour, district_code, street_code,
                                       kindergarten_id, category, supplementary, shard, submissions)
    SELECT 'registration', o.enrolment_year, date_trunc('hour', o.accepted_at), o.residence_district_code,
           o.residence_street_code, 0, o.category_group, o.supplementary, backend_shard, -count(*)
    FROM deleted o
    GROUP BY 2, 3, 4, 5, 6, 7, 8
    ORDER BY 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (kind, enrolment_year, hour, district_code, street_code, kindergarten_id, category, supplementary, shard)
    DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    INSERT INTO enrolment_daily_rollup AS t (kind, enrolment_year, day, district_code, category, supplementary,
                                             shard, submissions)
    SELECT 'registration', o.enrolment_year, CAST(o.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
           o.residence_district_code, o.category_group, o.supplementary, backend_shard, -count(*)
    FROM deleted o
    GROUP BY 2, 3, 4, 5, 6
    ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT (kind, enrolment_year, day, district_code, category, supplementary, shard)
    DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    RETURN NULL;
END $$;

CREATE TRIGGER registration_rollup_delete AFTER DELETE ON registration
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION enrolment_rollup_deleted_registrations();

-- Applies the changes of one UPDATE or DELETE statement on application.
-- Each changed row counts -1 under its key before the statement (when it
-- was live) and +1 under its key after it (when it is live). The street
-- comes from the registration, which still exists while its applications
-- are deleted. PL/pgSQL names a transition table only in the branch of
-- the operation that has it, so the two branches repeat the upserts.
CREATE FUNCTION enrolment_rollup_changed_applications() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    backend_shard smallint := pg_backend_pid() % 8;
BEGIN
    IF TG_OP = 'DELETE' THEN
        WITH delta AS (
            SELECT o.enrolment_year, o.accepted_at, o.district_code, o.registration_number,
                   o.campus_choices[1] AS campus_id, o.category_code, o.supplementary, -1 AS change
            FROM old_rows o
            WHERE o.status NOT IN ('returned', 'deleted')
        ),
        keyed AS (
            SELECT d.enrolment_year, d.accepted_at, d.district_code, COALESCE(r.residence_street_code, '') AS street_code,
                   COALESCE(c.kindergarten_id, 0) AS kindergarten_id, d.category_code, d.supplementary, d.change
            FROM delta d
            LEFT JOIN registration r ON r.registration_number = d.registration_number
            LEFT JOIN campus c ON c.id = d.campus_id
        ), hourly AS (
            INSERT INTO enrolment_rollup AS t (kind, enrolment_year, hour, district_code, street_code,
                                               kindergarten_id, category, supplementary, shard, submissions)
            SELECT 'application', k.enrolment_year, date_trunc('hour', k.accepted_at), k.district_code, k.street_code,
                   k.kindergarten_id, k.category_code, k.supplementary, backend_shard, sum(k.change)
            FROM keyed k
            GROUP BY 2, 3, 4, 5, 6, 7, 8
            HAVING sum(k.change) <> 0
            ORDER BY 2, 3, 4, 5, 6, 7, 8
            ON CONFLICT (kind, enrolment_year, hour, district_code, street_code, kindergarten_id, category, supplementary, shard)
            DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions
        )
        INSERT INTO enrolment_daily_rollup AS t (kind, enrolment_year, day, district_code, category, supplementary,
                                                 shard, submissions)
        SELECT 'application', k.enrolment_year, CAST(k.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
               k.district_code, k.category_code, k.supplementary, backend_shard, sum(k.change)
        FROM keyed k
        GROUP BY 2, 3, 4, 5, 6
        HAVING sum(k.change) <> 0
        ORDER BY 2, 3, 4, 5, 6
        ON CONFLICT (kind, enrolment_year, day, district_code, category, supplementary, shard)
        DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    ELSE
        WITH changed AS (
            SELECT o.application_number
            FROM old_rows o
            JOIN new_rows n ON n.application_number = o.application_number
            WHERE (o.status IN ('returned', 'deleted')) <> (n.status IN ('returned', 'deleted'))
               OR (o.enrolment_year, o.accepted_at, o.district_code, o.category_code, o.supplementary,
                   o.registration_number, o.campus_choices[1])
                  IS DISTINCT FROM
                  (n.enrolment_year, n.accepted_at, n.district_code, n.category_code, n.supplementary,
                   n.registration_number, n.campus_choices[1])
        ), delta AS (
            SELECT o.enrolment_year, o.accepted_at, o.district_code, o.registration_number,
                   o.campus_choices[1] AS campus_id, o.category_code, o.supplementary, -1 AS change
            FROM old_rows o
            JOIN changed USING (application_number)
            WHERE o.status NOT IN ('returned', 'deleted')
            UNION ALL
            SELECT n.enrolment_year, n.accepted_at, n.district_code, n.registration_number,
                   n.campus_choices[1], n.category_code, n.supplementary, 1
            FROM new_rows n
            JOIN changed USING (application_number)
            WHERE n.status NOT IN ('returned', 'deleted')
        ),
        keyed AS (
            SELECT d.enrolment_year, d.accepted_at, d.district_code, COALESCE(r.residence_street_code, '') AS street_code,
                   COALESCE(c.kindergarten_id, 0) AS kindergarten_id, d.category_code, d.supplementary, d.change
            FROM delta d
            LEFT JOIN registration r ON r.registration_number = d.registration_number
            LEFT JOIN campus c ON c.id = d.campus_id
        ), hourly AS (
            INSERT INTO enrolment_rollup AS t (kind, enrolment_year, hour, district_code, street_code,
                                               kindergarten_id, category, supplementary, shard, submissions)
            SELECT 'application', k.enrolment_year, date_trunc('hour', k.accepted_at), k.district_code, k.street_code,
                   k.kindergarten_id, k.category_code, k.supplementary, backend_shard, sum(k.change)
            FROM keyed k
            GROUP BY 2, 3, 4, 5, 6, 7, 8
            HAVING sum(k.change) <> 0
            ORDER BY 2, 3, 4, 5, 6, 7, 8
            ON CONFLICT (kind, enrolment_year, hour, district_code, street_code, kindergarten_id, category, supplementary, shard)
            DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions
        )
        INSERT INTO enrolment_daily_rollup AS t (kind, enrolment_year, day, district_code, category, supplementary,
                                                 shard, submissions)
        SELECT 'application', k.enrolment_year, CAST(k.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
               k.district_code, k.category_code, k.supplementary, backend_shard, sum(k.change)
        FROM keyed k
        GROUP BY 2, 3, 4, 5, 6
        HAVING sum(k.change) <> 0
        ORDER BY 2, 3, 4, 5, 6
        ON CONFLICT (kind, enrolment_year, day, district_code, category, supplementary, shard)
        DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER application_rollup_delete AFTER DELETE ON application
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION enrolment_rollup_changed_applications();
CREATE TRIGGER application_rollup_update AFTER UPDATE ON application
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enrolment_rollup_changed_applications();
