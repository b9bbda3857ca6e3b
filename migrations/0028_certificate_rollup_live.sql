-- The certificate rollup counts live records only, like the enrolment
-- rollups since 0026: a deleted registration, and a returned or deleted
-- application, leave it. Statement-level triggers subtract them in the
-- backend's own shard, so a shard row may go negative while the sum over
-- the shards stays right.
ALTER TABLE certificate_rollup DROP CONSTRAINT certificate_rollup_records_check;

-- Adds signed record counts per key to the backend's shard, in key order.
CREATE TYPE certificate_rollup_change AS (
    enrolment_year    smallint,
    day               date,
    district_code     char(6),
    certificate_type  text,
    source            text,
    records           integer
);

CREATE FUNCTION certificate_rollup_add(rollup_kind text, changes certificate_rollup_change[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO certificate_rollup AS t (kind, enrolment_year, day, district_code, certificate_type, source,
                                         shard, records)
    SELECT rollup_kind, c.enrolment_year, c.day, c.district_code, c.certificate_type, c.source,
           pg_backend_pid() % 8, sum(c.records)
    FROM unnest(changes) c
    GROUP BY 2, 3, 4, 5, 6
    HAVING sum(c.records) <> 0
    ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT (kind, enrolment_year, day, district_code, certificate_type, source, shard)
    DO UPDATE SET records = t.records + EXCLUDED.records
$$;

CREATE FUNCTION certificate_rollup_deleted_registrations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM certificate_rollup_add('registration', ARRAY(
        SELECT CAST(ROW(o.enrolment_year, CAST(o.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
                        o.residence_district_code, k.certificate_type, k.source, -1) AS certificate_rollup_change)
        FROM deleted o
        CROSS JOIN LATERAL certificate_rollup_keys(o.certificates_fetched, o.certificates_uploaded) k
        WHERE o.certificates_fetched IS NOT NULL AND o.certificates_uploaded IS NOT NULL));
    RETURN NULL;
END $$;

CREATE TRIGGER registration_certificate_rollup_delete AFTER DELETE ON registration
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION certificate_rollup_deleted_registrations();

-- Applies one UPDATE or DELETE statement on application: each changed row
-- counts -1 under its keys before (when it was live) and +1 after (when it
-- is live).
CREATE FUNCTION certificate_rollup_changed_applications() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes certificate_rollup_change[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        changes := ARRAY(
            SELECT CAST(ROW(o.enrolment_year, CAST(o.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
                            o.district_code, k.certificate_type, k.source, -1) AS certificate_rollup_change)
            FROM old_rows o
            CROSS JOIN LATERAL certificate_rollup_keys(ARRAY[]::text[], o.certificates_uploaded) k
            WHERE o.certificates_uploaded IS NOT NULL AND o.status NOT IN ('returned', 'deleted'));
    ELSE
        changes := ARRAY(
            WITH changed AS (
                SELECT o.application_number
                FROM old_rows o
                JOIN new_rows n ON n.application_number = o.application_number
                WHERE (o.status IN ('returned', 'deleted')) <> (n.status IN ('returned', 'deleted'))
                   OR (o.enrolment_year, o.accepted_at, o.district_code, o.certificates_uploaded)
                      IS DISTINCT FROM (n.enrolment_year, n.accepted_at, n.district_code, n.certificates_uploaded)
            ), delta AS (
                SELECT o.enrolment_year, o.accepted_at, o.district_code, o.certificates_uploaded, -1 AS change
                FROM old_rows o JOIN changed USING (application_number)
                WHERE o.status NOT IN ('returned', 'deleted')
                UNION ALL
                SELECT n.enrolment_year, n.accepted_at, n.district_code, n.certificates_uploaded, 1
                FROM new_rows n JOIN changed USING (application_number)
                WHERE n.status NOT IN ('returned', 'deleted')
            )
            SELECT CAST(ROW(d.enrolment_year, CAST(d.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
                            d.district_code, k.certificate_type, k.source, d.change) AS certificate_rollup_change)
            FROM delta d
            CROSS JOIN LATERAL certificate_rollup_keys(ARRAY[]::text[], d.certificates_uploaded) k
            WHERE d.certificates_uploaded IS NOT NULL);
    END IF;
    PERFORM certificate_rollup_add('application', changes);
    RETURN NULL;
END $$;

CREATE TRIGGER application_certificate_rollup_delete AFTER DELETE ON application
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION certificate_rollup_changed_applications();
CREATE TRIGGER application_certificate_rollup_update AFTER UPDATE ON application
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION certificate_rollup_changed_applications();

-- A 补报名 stores no uploads; it now says so with an empty list, so the
-- rollup counts it as a record. Earlier ones are filled in the same way.
UPDATE application SET certificates_uploaded = '{}' WHERE supplementary AND certificates_uploaded IS NULL;
