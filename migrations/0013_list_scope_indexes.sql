-- Indexes that the staff list pages read through. A street officer's
-- registrations match the home or the hukou street, and a kindergarten's
-- applications are those whose campus_choices overlap the kindergarten's
-- campuses (the && operator, which a GIN index serves). The lists show the
-- newest first, so the (accepted_at, number) indexes give a page of the
-- city's or a district's list without sorting every matching row.
CREATE INDEX registration_residence_street_idx ON registration (residence_street_code, accepted_at DESC);
CREATE INDEX registration_hukou_street_idx ON registration (hukou_street_code, accepted_at DESC);
CREATE INDEX application_campus_choices_idx ON application USING gin (campus_choices);
CREATE INDEX registration_accepted_idx ON registration (accepted_at DESC, registration_number DESC);
CREATE INDEX application_accepted_idx ON application (accepted_at DESC, application_number DESC);
