-- Administrative divisions of Shanghai (GB/T 2260 codes) and the household
-- categories that every enrolment form, rule and report uses.

CREATE TABLE district (
    code        char(6) PRIMARY KEY,
    name        text NOT NULL,
    sort_order  smallint NOT NULL
);

CREATE TABLE street (
    code           char(9) PRIMARY KEY,
    district_code  char(6) NOT NULL REFERENCES district (code),
    name           text NOT NULL
);
CREATE INDEX street_district_idx ON street (district_code);

-- A committee is a residents' (居委会) or villagers' (村委会) committee.
CREATE TABLE committee (
    code           char(12) PRIMARY KEY,
    street_code    char(9) NOT NULL REFERENCES street (code),
    district_code  char(6) NOT NULL REFERENCES district (code),
    name           text NOT NULL
);
CREATE INDEX committee_street_idx ON committee (street_code);

-- Household categories form a two-level tree: a group (本市户籍, 外省市户籍,
-- 港澳台外, 其他) and its categories. A category with a parent_code is a
-- narrower form of its parent that a district may open instead of the parent.
CREATE TABLE household_category (
    code        text PRIMARY KEY,
    group_code  text NOT NULL,
    group_name  text NOT NULL,
    name        text NOT NULL,
    parent_code text REFERENCES household_category (code),
    sort_order  smallint NOT NULL
);

INSERT INTO household_category (code, group_code, group_name, name, parent_code, sort_order) VALUES
    ('district_hukou',            'shanghai_hukou', '本市户籍', '本区户籍',                     NULL,             10),
    ('district_hukou_resident',   'shanghai_hukou', '本市户籍', '本区人户一致',                 'district_hukou', 11),
    ('district_resident_hukou_elsewhere', 'shanghai_hukou', '本市户籍', '本区人户不一致',         NULL,             12),
    ('district_hukou_lives_elsewhere',    'shanghai_hukou', '本市户籍', '本区户籍外区居住',       'district_hukou', 13),
    ('parent_shanghai_hukou',     'other_province', '外省市户籍', '父母一方为本市户籍',         NULL,             20),
    ('points_or_talent_permit',   'other_province', '外省市户籍', '居住证积分达标或海外人才居住证', NULL,           21),
    ('residence_permit',          'other_province', '外省市户籍', '持居住证',                   NULL,             22),
    ('residence_registration',    'other_province', '外省市户籍', '持居住登记凭证',             NULL,             23),
    ('overseas_talent_permit',    'other_province', '外省市户籍', '持海外人才居住证',           'points_or_talent_permit', 24),
    ('other_province_other',      'other_province', '外省市户籍', '其他情况',                   NULL,             25),
    ('hong_kong_macau_taiwan',    'hmt_foreign',    '港澳台外',   '港澳台',                     NULL,             30),
    ('foreign',                   'hmt_foreign',    '港澳台外',   '外籍',                       NULL,             31),
    ('no_document',               'other',          '其他',       '幼儿无证件',                 NULL,             40);
