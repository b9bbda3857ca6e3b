-- Dashboards: the hourly enrolment rollup kept current by triggers, the
-- figures no system of ours owns (resident population, kindergarten
-- census of classes and staff, nursery-class places), and alert thresholds.

-- Submissions per hour × district × street × kindergarten × category.
-- A registration counts in its residence district and street, with
-- kindergarten_id 0 and its category group as category. An application
-- counts in the district applied to, the residence street of its
-- registration, the kindergarten of its first choice and its category.
CREATE TABLE enrolment_rollup (
    kind             text NOT NULL CHECK (kind IN ('registration', 'application')),
    enrolment_year   smallint NOT NULL,
    hour             timestamptz NOT NULL,
    district_code    char(6) NOT NULL,
    street_code      text NOT NULL,
    kindergarten_id  bigint NOT NULL,
    category         text NOT NULL,
    supplementary    boolean NOT NULL,
    submissions      integer NOT NULL CHECK (submissions >= 0),
    PRIMARY KEY (kind, enrolment_year, hour, district_code, street_code, kindergarten_id, category, supplementary)
);
-- Drill-downs into a district read this index alone (an index-only scan
-- once vacuumed), because it includes every column they need.
CREATE INDEX enrolment_rollup_district_idx ON enrolment_rollup (kind, enrolment_year, district_code, hour)
    INCLUDE (street_code, kindergarten_id, category, supplementary, submissions);

-- The same submissions per Shanghai day × district × category, which the
-- city-wide panels read: a few thousand rows for a whole season.
CREATE TABLE enrolment_daily_rollup (
    kind             text NOT NULL CHECK (kind IN ('registration', 'application')),
    enrolment_year   smallint NOT NULL,
    day              date NOT NULL,
    district_code    char(6) NOT NULL,
    category         text NOT NULL,
    supplementary    boolean NOT NULL,
    submissions      integer NOT NULL CHECK (submissions >= 0),
    PRIMARY KEY (kind, enrolment_year, day, district_code, category, supplementary)
);

-- The triggers run once per statement and add the inserted rows' counts in
-- the same transaction as the insert, so the drainer's batch and its rollup
-- commit together. Rows are upserted in key order, so two concurrent
-- batches lock shared rollup rows in the same order and cannot deadlock.
-- PL/pgSQL is needed because a trigger function cannot be plain SQL.
CREATE FUNCTION enrolment_rollup_registrations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO enrolment_rollup AS t (kind, enrolment_year, hour, district_code, street_code,
                                       kindergarten_id, category, supplementary, submissions)
    SELECT 'registration', n.enrolment_year, date_trunc('hour', n.accepted_at), n.residence_district_code,
           n.residence_street_code, 0, n.category_group, n.supplementary, count(*)
    FROM inserted n
    GROUP BY 2, 3, 4, 5, 6, 7, 8
    ORDER BY 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (kind, enrolment_year, hour, district_code, street_code, kindergarten_id, category, supplementary)
    DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    INSERT INTO enrolment_daily_rollup AS t (kind, enrolment_year, day, district_code, category, supplementary, submissions)
    SELECT 'registration', n.enrolment_year, CAST(n.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
           n.residence_district_code, n.category_group, n.supplementary, count(*)
    FROM inserted n
    GROUP BY 2, 3, 4, 5, 6
    ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT (kind, enrolment_year, day, district_code, category, supplementary)
    DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    RETURN NULL;
END $$;

CREATE TRIGGER registration_rollup AFTER INSERT ON registration
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION enrolment_rollup_registrations();

CREATE FUNCTION enrolment_rollup_applications() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO enrolment_rollup AS t (kind, enrolment_year, hour, district_code, street_code,
                                       kindergarten_id, category, supplementary, submissions)
    SELECT 'application', n.enrolment_year, date_trunc('hour', n.accepted_at), n.district_code,
           COALESCE(r.residence_street_code, ''), COALESCE(c.kindergarten_id, 0), n.category_code,
           n.supplementary, count(*)
    FROM inserted n
    LEFT JOIN registration r ON r.registration_number = n.registration_number
    LEFT JOIN campus c ON c.id = n.campus_choices[1]
    GROUP BY 2, 3, 4, 5, 6, 7, 8
    ORDER BY 2, 3, 4, 5, 6, 7, 8
    ON CONFLICT (kind, enrolment_year, hour, district_code, street_code, kindergarten_id, category, supplementary)
    DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    INSERT INTO enrolment_daily_rollup AS t (kind, enrolment_year, day, district_code, category, supplementary, submissions)
    SELECT 'application', n.enrolment_year, CAST(n.accepted_at AT TIME ZONE 'Asia/Shanghai' AS date),
           n.district_code, n.category_code, n.supplementary, count(*)
    FROM inserted n
    GROUP BY 2, 3, 4, 5, 6
    ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT (kind, enrolment_year, day, district_code, category, supplementary)
    DO UPDATE SET submissions = t.submissions + EXCLUDED.submissions;
    RETURN NULL;
END $$;

CREATE TRIGGER application_rollup AFTER INSERT ON application
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION enrolment_rollup_applications();

-- The milestone query finds the n-th registration of a year by time.
CREATE INDEX registration_year_accepted_idx ON registration (enrolment_year, accepted_at);
-- Admissions are counted from the application table.
CREATE INDEX application_admitted_idx ON application (enrolment_year, district_code) WHERE status = 'admitted';

-- Resident population by street and age in whole years (0 to 6), imported
-- from the statistics bureau or generated for a demo.
CREATE TABLE resident_population (
    census_year    smallint NOT NULL,
    district_code  char(6) NOT NULL REFERENCES district (code),
    street_code    char(9) NOT NULL REFERENCES street (code),
    age            smallint NOT NULL CHECK (age BETWEEN 0 AND 6),
    population     integer NOT NULL CHECK (population >= 0),
    PRIMARY KEY (census_year, street_code, age)
);

-- Classes and children per kindergarten and grade at the yearly census.
-- oversized_classes are classes above the class-size limit of their grade,
-- and oversized_children the children in those classes.
CREATE TABLE kindergarten_class_census (
    census_year         smallint NOT NULL,
    kindergarten_id     bigint NOT NULL REFERENCES kindergarten (id),
    grade               text NOT NULL CHECK (grade IN ('nursery', 'junior', 'middle', 'senior', 'mixed')),
    planned_classes     integer NOT NULL CHECK (planned_classes >= 0),
    classes             integer NOT NULL CHECK (classes >= 0),
    boys                integer NOT NULL CHECK (boys >= 0),
    girls               integer NOT NULL CHECK (girls >= 0),
    oversized_classes   integer NOT NULL CHECK (oversized_classes BETWEEN 0 AND classes),
    oversized_children  integer NOT NULL CHECK (oversized_children >= 0),
    PRIMARY KEY (census_year, kindergarten_id, grade)
);

-- Staff per kindergarten, role, education and professional title.
CREATE TABLE kindergarten_staff_census (
    census_year      smallint NOT NULL,
    kindergarten_id  bigint NOT NULL REFERENCES kindergarten (id),
    role             text NOT NULL CHECK (role IN ('principal', 'teacher', 'care_worker', 'health_worker', 'nutrition_worker', 'other')),
    education        text NOT NULL CHECK (education IN ('postgraduate', 'bachelor', 'associate', 'secondary')),
    title            text NOT NULL CHECK (title IN ('senior', 'middle', 'junior', 'none')),
    staff            integer NOT NULL CHECK (staff >= 0),
    PRIMARY KEY (census_year, kindergarten_id, role, education, title)
);

-- Nursery-class (托班) places per kindergarten and year.
CREATE TABLE nursery_place (
    census_year      smallint NOT NULL,
    kindergarten_id  bigint NOT NULL REFERENCES kindergarten (id),
    places           integer NOT NULL CHECK (places >= 0),
    enrolled         integer NOT NULL CHECK (enrolled >= 0),
    PRIMARY KEY (census_year, kindergarten_id)
);

-- Public-opinion records (舆情): online help-desk questions and hotline
-- calls about enrolment, imported from their systems or generated.
-- channel is human or self_service for hotline calls and NULL for the
-- help desk. problem_type is platform (platform operation), policy or
-- other.
CREATE TABLE opinion_record (
    source         text NOT NULL CHECK (source IN ('helpdesk', 'hotline')),
    external_id    text NOT NULL,
    received_at    timestamptz NOT NULL,
    district_code  char(6) NOT NULL REFERENCES district (code),
    problem_type   text NOT NULL CHECK (problem_type IN ('platform', 'policy', 'other')),
    status         text NOT NULL CHECK (status IN ('resolved', 'in_progress', 'unresolved')),
    channel        text CHECK (channel IN ('human', 'self_service')),
    PRIMARY KEY (source, external_id)
);
CREATE INDEX opinion_record_received_idx ON opinion_record (received_at);

-- Alert thresholds of the dashboards. An indicator alerts when its value
-- is above (or below) the threshold, per district.
CREATE TABLE dashboard_alert_threshold (
    code         text PRIMARY KEY,
    name         text NOT NULL,
    comparison   text NOT NULL CHECK (comparison IN ('above', 'below')),
    threshold    numeric(12, 4) NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   text NOT NULL DEFAULT 'system'
);

INSERT INTO dashboard_alert_threshold (code, name, comparison, threshold) VALUES
    ('registration_plan_rate', '登记数占招生计划比例高于', 'above', 1.2),
    ('application_rate', '报名率（报名数 ÷ 登记数）低于', 'below', 0.6),
    ('class_size_compliance', '班额达标率低于', 'below', 0.9),
    ('gross_enrolment_rate', '毛入园率低于', 'below', 0.85),
    ('unresolved_questions', '在线咨询未解决问题数高于', 'above', 50);

-- City admins may change the thresholds.
UPDATE role SET permissions = array_append(permissions, 'dashboard.write')
WHERE code = 'city_admin' AND NOT ('dashboard.write' = ANY (permissions));
