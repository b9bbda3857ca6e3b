-- Enrolment rollups count live records only: a deleted registration
-- leaves the registration figures, and a returned (已退回) or deleted
-- (已删除) application leaves the application figures, so a child who is
-- returned and applies again counts once.
--
-- The insert triggers of 0019 stay statement-level and only skip inserted
-- applications that are already returned or deleted, as imported rows
-- may be. Two more
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
-- below zero while the sum over a key's shards, which is what every
-- reader uses, stays the number of live records. The non-negative checks
-- on single shard rows therefore go.

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

-- A signed count under one key of the hourly rollup.
CREATE TYPE enrolment_rollup_change AS (
    enrolment_year   smallint,
    hour             timestamptz,
    district_code    char(6),
    street_code      text,
    kindergarten_id  bigint,
    category         text,
    supplementary    boolean,
    submissions      bigint
);

-- Adds changes (at most one per key) to both rollups of rollup_kind, in the
-- calling backend's shard and in key order like the insert triggers. The
-- daily rollup gets the sums per Shanghai day, which holds whole hours
-- because Shanghai has no daylight saving time.
CREATE FUNCTION enrolment_rollup_add(rollup_kind text, changes enrolment_rollup_change[]) RETURNS void LANGUAGE sql AS $$
    WITH hourly AS (
        INSERT INTO enrolment_rollup AS t (kind, enrolment_year, hour, district_code, street_code,
                                           kindergarten_id, category, supplementary, shard, submissions)
        SELECT rollup_kind, c.enrolment_year, c.hour, c.district_code, c.street_code, c.kindergarten_id, c.category,
               c.supplementary, pg_backend_pid() % 8, c.submissions
        FROM unnest(changes) c
        WHERE c.submissions <> 0
        ORDER BY 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT (kind, enrolment_year, hour, district_code, street_code, kindergarten_id, category, supplementary, shard)
        DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions
    )
    INSERT INTO enrolment_daily_rollup AS t (kind, enrolment_year, day, district_code, category, supplementary,
                                             shard, submissions)
    SELECT rollup_kind, c.enrolment_year, CAST(c.hour AT TIME ZONE 'Asia/Shanghai' AS date), c.district_code, c.category,
           c.supplementary, pg_backend_pid() % 8, sum(c.submissions)
    FROM unnest(changes) c
    GROUP BY 2, 3, 4, 5, 6, 7
    HAVING sum(c.submissions) <> 0
    ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT (kind, enrolment_year, day, district_code, category, supplementary, shard)
    DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
$$;

-- Subtracts deleted registrations. Their applications are deleted first,
-- because the application's foreign key allows no other order.
CREATE FUNCTION enrolment_rollup_deleted_registrations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM enrolment_rollup_add('registration', ARRAY(
        SELECT CAST(ROW(o.enrolment_year, date_trunc('hour', o.accepted_at), o.residence_district_code,
                        o.residence_street_code, 0, o.category_group, o.supplementary, -count(*))
                    AS enrolment_rollup_change)
        FROM deleted o
        GROUP BY o.enrolment_year, date_trunc('hour', o.accepted_at), o.residence_district_code,
                 o.residence_street_code, o.category_group, o.supplementary));
    RETURN NULL;
END $$;

CREATE TRIGGER registration_rollup_delete AFTER DELETE ON registration
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION enrolment_rollup_deleted_registrations();

-- Applies the changes of one UPDATE or DELETE statement on application.
-- Each changed row counts -1 under its key before the statement (when it
-- was live) and +1 under its key after it (when it is live). The street
-- comes from the registration, which still exists while its applications
-- are deleted. PL/pgSQL resolves a transition table only in the branch of
-- the operation that has one, so the branches repeat the key columns.
CREATE FUNCTION enrolment_rollup_changed_applications() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes enrolment_rollup_change[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        changes := ARRAY(
            SELECT CAST(ROW(o.enrolment_year, date_trunc('hour', o.accepted_at), o.district_code,
                            COALESCE(r.residence_street_code, ''), COALESCE(c.kindergarten_id, 0), o.category_code,
                            o.supplementary, -count(*)) AS enrolment_rollup_change)
            FROM old_rows o
            LEFT JOIN registration r ON r.registration_number = o.registration_number
            LEFT JOIN campus c ON c.id = o.campus_choices[1]
            WHERE o.status NOT IN ('returned', 'deleted')
            GROUP BY o.enrolment_year, date_trunc('hour', o.accepted_at), o.district_code,
                     COALESCE(r.residence_street_code, ''), COALESCE(c.kindergarten_id, 0), o.category_code,
                     o.supplementary);
    ELSE
        changes := ARRAY(
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
                SELECT o.*, -1 AS change
                FROM old_rows o
                JOIN changed USING (application_number)
                WHERE o.status NOT IN ('returned', 'deleted')
                UNION ALL
                SELECT n.*, 1
                FROM new_rows n
                JOIN changed USING (application_number)
                WHERE n.status NOT IN ('returned', 'deleted')
            )
            SELECT CAST(ROW(d.enrolment_year, date_trunc('hour', d.accepted_at), d.district_code,
                            COALESCE(r.residence_street_code, ''), COALESCE(c.kindergarten_id, 0), d.category_code,
                            d.supplementary, sum(d.change)) AS enrolment_rollup_change)
            FROM delta d
            LEFT JOIN registration r ON r.registration_number = d.registration_number
            LEFT JOIN campus c ON c.id = d.campus_choices[1]
            GROUP BY d.enrolment_year, date_trunc('hour', d.accepted_at), d.district_code,
                     COALESCE(r.residence_street_code, ''), COALESCE(c.kindergarten_id, 0), d.category_code,
                     d.supplementary);
    END IF;
    PERFORM enrolment_rollup_add('application', changes);
    RETURN NULL;
END $$;

CREATE TRIGGER application_rollup_delete AFTER DELETE ON application
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION enrolment_rollup_changed_applications();
CREATE TRIGGER application_rollup_update AFTER UPDATE ON application
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION enrolment_rollup_changed_applications();
