-- Admission: the confirmation checks that the proposal is still current.
--
-- admission_round.seats is the seat total of the seat plans the proposal
-- used. A confirmation whose district and year now plan a different total
-- is rejected until the proposal is made again. It is NULL for rounds
-- proposed before this column existed, and a confirmation treats NULL as
-- out of date.
ALTER TABLE admission_round ADD COLUMN seats integer CHECK (seats >= 0);

-- No review step sets documents_verified on an ordinary application yet,
-- so a rule that admits only verified applications admits no child. The
-- API now rejects the setting, and unconfirmed rules lose it here.
UPDATE admission_rule r SET require_documents_verified = false
WHERE r.require_documents_verified
  AND NOT EXISTS (SELECT 1 FROM admission_round o
                  WHERE o.enrolment_year = r.enrolment_year AND o.district_code = r.district_code
                    AND o.status = 'confirmed');
