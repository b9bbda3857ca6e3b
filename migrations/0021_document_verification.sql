-- Document verification in ordinary review: a district reviewer checks
-- each certificate that the district's admission rules list
-- (admission_rule.verified_certificates) and then marks the application
-- documents_verified (验证通过).

-- review_version counts the review changes of an application: certificate
-- checks, verification and return. A reviewer's change names the version
-- it was made on, so a change made on an outdated page is rejected.
ALTER TABLE application ADD COLUMN review_version integer NOT NULL DEFAULT 0;

-- One row per application and certificate type that a reviewer checked.
-- certificate_digest is the keyed hash (HMAC-SM3) of the certificate data
-- the reviewer saw: type, source, number, holder and file of each copy in
-- the application's and the registration's form values. A check whose
-- digest no longer matches the stored data does not count. A return
-- deletes the application's checks.
CREATE TABLE application_certificate_check (
    application_number  char(14) NOT NULL REFERENCES application (application_number) ON DELETE CASCADE,
    certificate_code    text NOT NULL CHECK (certificate_code ~ '^[a-z][a-z0-9_]{1,39}$'),
    verified            boolean NOT NULL,
    certificate_digest  bytea NOT NULL,
    checked_by          bigint NOT NULL,
    checked_by_name     text NOT NULL,
    checked_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (application_number, certificate_code)
);

-- application_status and application_review_version are the status and
-- review version an application had when the proposal placed it. Under
-- rules that admit only verified applications, a confirmation is rejected
-- when either changed since the proposal. Proposals made before these
-- columns existed have NULL.
ALTER TABLE admission_proposal ADD COLUMN application_status text;
ALTER TABLE admission_proposal ADD COLUMN application_review_version integer;
