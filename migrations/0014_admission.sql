-- District admission rules (录取规则), the proposed admission list and its
-- confirmation, and the SMS events of the admission notice.

-- One rule set per district and enrolment year, kept by the district.
--
-- category_order lists the household categories whose entries take part
-- in admission, highest priority first. An application through an entry
-- whose category is not listed is not admitted, and the edge's snapshot
-- leaves such an entry out, so it takes no new applications.
-- verified_certificates lists the certificate codes (form_certificate.code)
-- the district verifies. When require_documents_verified is true, only
-- applications with the status documents_verified (验证通过) are admitted.
-- priority_criteria orders the children within a campus, most important
-- first; registration time breaks the remaining ties.
-- seat_grade names the seat_plan grade whose seats admission fills.
CREATE TABLE admission_rule (
    enrolment_year              smallint NOT NULL REFERENCES enrolment_year (year),
    district_code               char(6) NOT NULL REFERENCES district (code),
    category_order              text[] NOT NULL CHECK (cardinality(category_order) BETWEEN 1 AND 20),
    verified_certificates       text[] NOT NULL DEFAULT '{}',
    require_documents_verified  boolean NOT NULL DEFAULT false,
    priority_criteria           text[] NOT NULL CHECK (priority_criteria <@ ARRAY[
                                    'category', 'hukou_in_district', 'hukou_at_residence',
                                    'residence_duration', 'choice_order']::text[]),
    seat_grade                  text NOT NULL DEFAULT 'junior'
                                CHECK (seat_grade IN ('nursery', 'junior', 'middle', 'senior', 'mixed')),
    updated_by                  bigint NOT NULL,
    updated_by_name             text NOT NULL,
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (enrolment_year, district_code)
);

-- One admission round per district and year. A proposal may be run again
-- while the round is 'proposed'; confirming it is final. rule_text keeps
-- the rules the proposal was computed with, as JSON.
CREATE TABLE admission_round (
    enrolment_year     smallint NOT NULL REFERENCES enrolment_year (year),
    district_code      char(6) NOT NULL REFERENCES district (code),
    status             text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'confirmed')),
    rule_text          text NOT NULL,
    proposed_by        bigint NOT NULL,
    proposed_by_name   text NOT NULL,
    proposed_at        timestamptz NOT NULL DEFAULT now(),
    confirmed_by       bigint,
    confirmed_by_name  text,
    confirmed_at       timestamptz,
    PRIMARY KEY (enrolment_year, district_code),
    CHECK ((status = 'confirmed') = (confirmed_at IS NOT NULL))
);

-- One row per application the proposal looked at. campus_id is the campus
-- that admits the child, NULL when not admitted; choice_rank is that
-- campus's place among the child's choices (1 is the first choice) and
-- campus_rank the child's place among the children the campus admits.
-- reason explains the outcome in Chinese for the staff list.
CREATE TABLE admission_proposal (
    application_number  char(14) PRIMARY KEY REFERENCES application (application_number) ON DELETE CASCADE,
    enrolment_year      smallint NOT NULL,
    district_code       char(6) NOT NULL,
    outcome             text NOT NULL CHECK (outcome IN ('admitted', 'not_admitted')),
    campus_id           bigint REFERENCES campus (id),
    choice_rank         smallint,
    campus_rank         integer,
    reason              text NOT NULL,
    priority_note       text NOT NULL,
    FOREIGN KEY (enrolment_year, district_code) REFERENCES admission_round (enrolment_year, district_code) ON DELETE CASCADE,
    CHECK ((outcome = 'admitted') = (campus_id IS NOT NULL)),
    CHECK ((campus_id IS NULL) = (campus_rank IS NULL))
);
CREATE INDEX admission_proposal_campus_idx ON admission_proposal (enrolment_year, district_code, campus_id, campus_rank);

-- The admission notice goes to every family of the round: 录取通知 to the
-- admitted, 未录取通知 to the others, at most one of each per application.
ALTER TABLE sms_template DROP CONSTRAINT sms_template_event_check;
ALTER TABLE sms_template ADD CONSTRAINT sms_template_event_check CHECK (event IN (
    'application_succeeded', 'application_returned', 'record_deleted', 'admission_admitted', 'admission_not_admitted'));
CREATE UNIQUE INDEX sms_outbox_admission_idx ON sms_outbox (record_number, event)
    WHERE event IN ('admission_admitted', 'admission_not_admitted');
