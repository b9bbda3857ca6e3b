-- Indexes that the staff list pages' data scopes read through. A street
-- officer's registrations match the home or the hukou street, and a
-- kindergarten's applications are those whose campus_choices overlap the
-- kindergarten's campuses (the && operator, which a GIN index serves).
CREATE INDEX registration_residence_street_idx ON registration (residence_street_code, accepted_at DESC);
CREATE INDEX registration_hukou_street_idx ON registration (hukou_street_code, accepted_at DESC);
CREATE INDEX application_campus_choices_idx ON application USING gin (campus_choices);
