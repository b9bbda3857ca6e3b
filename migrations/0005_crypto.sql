-- Integrity of access-control data: each role and each staff account's
-- access fields carry an SM2 signature over a canonical encoding of those
-- fields (backoffice/access/integrity.go), written by the back office on
-- every change and checked before a session uses them. A NULL signature is
-- treated like a wrong one.
ALTER TABLE role ADD COLUMN acl_signature bytea, ADD COLUMN acl_key_id text;
ALTER TABLE staff_user ADD COLUMN acl_signature bytea, ADD COLUMN acl_key_id text;
