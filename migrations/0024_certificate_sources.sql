-- Certificate sources: which certificate types each registration fetched
-- from the certificate API and which the parent uploaded, outside the
-- sealed form values, and a daily rollup of them for the certificate-call
-- panel.
--
-- The columns hold certificate type codes only, nothing personal. NULL
-- means the record does not say, because an edge older than record codec
-- version 2 sealed it; the rollup leaves such records out. Adding nullable
-- columns without a default rewrites no rows.
ALTER TABLE registration ADD COLUMN certificates_fetched text[];
ALTER TABLE registration ADD COLUMN certificates_uploaded text[];
-- Applications take uploads only.
ALTER TABLE application ADD COLUMN certificates_uploaded text[];

-- Records per Shanghai day × district × certificate type × source, in the
-- district a record counts in on the other panels (the residence district
-- of a registration, the district applied to of an application). Source
-- 'record' with the empty type counts every record whose sources are
-- known; 'fetched' and 'uploaded' with the empty type count the records
-- with at least one certificate from that source; with a type they count
-- the records that attached that type from that source.
CREATE TABLE certificate_rollup (
    kind              text NOT NULL CHECK (kind IN ('registration', 'application')),
    enrolment_year    smallint NOT NULL,
    day               date NOT NULL,
    district_code     char(6) NOT NULL,
    certificate_type  text NOT NULL,
    source            text NOT NULL CHECK (source IN ('record', 'fetched', 'uploaded')),
    shard             smallint NOT NULL DEFAULT 0,
    records           integer NOT NULL CHECK (records >= 0),
    PRIMARY KEY (kind, enrolment_year, day, district_code, certificate_type, source, shard)
);

-- The rollup keys one record adds to: see certificate_rollup.
CREATE FUNCTION certificate_rollup_keys(fetched text[], uploaded text[])
RETURNS TABLE (certificate_type text, source text) LANGUAGE sql IMMUTABLE AS $$
    SELECT '', 'record'
    UNION ALL SELECT '', 'fetched' WHERE cardinality(fetched) > 0
    UNION ALL SELECT '', 'uploaded' WHERE cardinality(uploaded) > 0
    UNION ALL SELECT t, 'fetched' FROM unnest(fetched) t
    UNION ALL SELECT t, 'uploaded' FROM unnest(uploaded) t
$$;

-- Like the enrolment rollups, the triggers run once per statement in the
-- drainer's transaction, upsert in key order and write the backend's own
-- shard, so concurrent drainers neither deadlock nor wait on each other.
CREATE FUNCTION certificate_rollup_registrations() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    backend_shard smallint := pg_backend_pid() % 8;
BEGIN
    INSERT INTO certificate_rollup AS t (kind, enrolment_year, day, district_code, certificate_type, source,
                                         shard, records)
    SELECT 'registration', n.enrolment_year, CAST(n.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
           n.residence_district_code, k.certificate_type, k.source, backend_shard, count(*)
    FROM inserted n
    CROSS JOIN LATERAL certificate_rollup_keys(n.certificates_fetched, n.certificates_uploaded) k
    WHERE n.certificates_fetched IS NOT NULL AND n.certificates_uploaded IS NOT NULL
    GROUP BY 2, 3, 4, 5, 6
    ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT (kind, enrolment_year, day, district_code, certificate_type, source, shard)
    DO UPDATE SET records = t.records + EXCLUDED.records;
    RETURN NULL;
END $$;

CREATE TRIGGER registration_certificate_rollup AFTER INSERT ON registration
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION certificate_rollup_registrations();

CREATE FUNCTION certificate_rollup_applications() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    backend_shard smallint := pg_backend_pid() % 8;
BEGIN
    INSERT INTO certificate_rollup AS t (kind, enrolment_year, day, district_code, certificate_type, source,
                                         shard, records)
    SELECT 'application', n.enrolment_year, CAST(n.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
           n.district_code, k.certificate_type, k.source, backend_shard, count(*)
    FROM inserted n
    CROSS JOIN LATERAL certificate_rollup_keys(ARRAY[]::text[], n.certificates_uploaded) k
    WHERE n.certificates_uploaded IS NOT NULL
    GROUP BY 2, 3, 4, 5, 6
    ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT (kind, enrolment_year, day, district_code, certificate_type, source, shard)
    DO UPDATE SET records = t.records + EXCLUDED.records;
    RETURN NULL;
END $$;

CREATE TRIGGER application_certificate_rollup AFTER INSERT ON application
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION certificate_rollup_applications();
