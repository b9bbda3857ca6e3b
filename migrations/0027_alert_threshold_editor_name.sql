-- The display name of the staff member who last changed an alert
-- threshold, stored with the change. Development sign-in accounts have no
-- staff_user row, so a join on the username alone cannot name them. NULL
-- for thresholds changed before this column existed.
ALTER TABLE dashboard_alert_threshold ADD COLUMN updated_by_name text;
