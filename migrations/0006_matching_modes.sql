-- Matching rules in all four modes, and rules for out-of-province entries.
--
-- Mode 1: street, and committee (a NULL committee covers the whole street).
-- Mode 2: a house-number range on one road, stored as its normal text
--         (road_range, such as '漕溪北路100弄1-20号') with an odd/even parity;
--         road repeats the road name for filtering.
-- Mode 3: street, committee and compound (小区). The compound name is shown
--         in a list on the parents' phones, so its display width is limited:
--         a Chinese character counts 2, any other character 1, at most 24.
-- Mode 4: an open list; the rule offers its campus to every address of the
--         district.
--
-- audience 'other_province' marks the rules of the entries for children
-- with a hukou outside Shanghai. Such a rule offers every public campus of
-- the district (offer 'public'), every private one ('private') or one named
-- campus ('campus'); every other rule offers one named campus.

ALTER TABLE matching_rule
    ADD COLUMN audience    text NOT NULL DEFAULT 'local' CHECK (audience IN ('local', 'other_province')),
    ADD COLUMN offer       text NOT NULL DEFAULT 'campus' CHECK (offer IN ('campus', 'public', 'private')),
    ADD COLUMN road        text,
    ADD COLUMN road_range  text,
    ADD COLUMN parity      text NOT NULL DEFAULT 'all' CHECK (parity IN ('all', 'odd', 'even')),
    ADD COLUMN compound    text,
    ADD COLUMN created_at  timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now(),
    ALTER COLUMN campus_id DROP NOT NULL;

ALTER TABLE matching_rule
    ADD CONSTRAINT matching_rule_offer_campus
        CHECK ((offer = 'campus') = (campus_id IS NOT NULL)),
    ADD CONSTRAINT matching_rule_offer_audience
        CHECK (offer = 'campus' OR audience = 'other_province'),
    ADD CONSTRAINT matching_rule_mode_fields CHECK (
        CASE mode
            WHEN 1 THEN street_code IS NOT NULL AND road IS NULL AND compound IS NULL
            WHEN 2 THEN road IS NOT NULL AND road_range IS NOT NULL AND compound IS NULL
            WHEN 3 THEN street_code IS NOT NULL AND committee_code IS NOT NULL AND compound IS NOT NULL
                        AND road IS NULL AND char_length(compound) BETWEEN 1 AND 24
            ELSE road IS NULL AND compound IS NULL
        END);

CREATE INDEX matching_rule_list_idx ON matching_rule (district_code, enrolment_year, mode, id);
