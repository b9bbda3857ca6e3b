-- Dashboards: the time of each admission, so admissions have a trend and
-- a 10,000th-admission moment, and the census of children by nationality,
-- hukou and age, which the children report filters and groups by.

-- admitted_at is when an application's status became 'admitted', and NULL
-- while it is not admitted. Applications admitted before this migration
-- have no recorded time, so they take their acceptance time, which is the
-- time the dashboards counted them at until now.
ALTER TABLE application ADD COLUMN admitted_at timestamptz;
UPDATE application SET admitted_at = accepted_at WHERE status = 'admitted';
ALTER TABLE application ADD CONSTRAINT application_admitted_at_check
    CHECK ((status = 'admitted') = (admitted_at IS NOT NULL));

-- A status change into 'admitted' stamps the time unless the statement
-- sets one, and a change out of it clears the time. Inserts of admitted
-- rows (imports, the generator) must give admitted_at themselves, which
-- the check above enforces, so the drainer's bulk inserts pay for no
-- row trigger.
CREATE FUNCTION application_stamp_admission() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'admitted' THEN
        NEW.admitted_at := COALESCE(NEW.admitted_at, now());
    ELSE
        NEW.admitted_at := NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER application_admission_time BEFORE UPDATE OF status ON application
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION application_stamp_admission();

-- The admission trend and the n-th admission read admitted rows by time.
CREATE INDEX application_admitted_at_idx ON application (enrolment_year, admitted_at, application_number)
    WHERE status = 'admitted';

-- Children per kindergarten, grade, sex, nationality, hukou and age at the
-- yearly census. nationality is chinese (中国), hmt (港澳台) or foreign
-- (外籍). hukou is district (本区户籍: in the kindergarten's district),
-- city (本市外区户籍), other_province (外省市户籍) or none (no mainland
-- hukou, as for most Hong Kong, Macao, Taiwan and foreign children). age is in whole
-- years on 31 August of the census year, when the school year starts.
CREATE TABLE kindergarten_child_census (
    census_year      smallint NOT NULL,
    kindergarten_id  bigint NOT NULL REFERENCES kindergarten (id),
    grade            text NOT NULL CHECK (grade IN ('nursery', 'junior', 'middle', 'senior', 'mixed')),
    sex              text NOT NULL CHECK (sex IN ('male', 'female')),
    nationality      text NOT NULL CHECK (nationality IN ('chinese', 'hmt', 'foreign')),
    hukou            text NOT NULL CHECK (hukou IN ('district', 'city', 'other_province', 'none')),
    age              smallint NOT NULL CHECK (age BETWEEN 0 AND 7),
    children         integer NOT NULL CHECK (children >= 0),
    PRIMARY KEY (census_year, kindergarten_id, grade, sex, nationality, hukou, age)
);
