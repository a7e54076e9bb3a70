-- A user's optional email address, stored as typed, and when a message sent
-- to it proved it (SPEC 4b). Nullable columns without a default, and a CHECK
-- added NOT VALID (every existing row is NULL, and new rows are checked):
-- PostgreSQL changes only the catalog, with no table rewrite and no scan, so
-- user writes wait only for the catalog change. The unique index comes in
-- 000014, built CONCURRENTLY.
SET LOCAL lock_timeout = '5s';
ALTER TABLE users
    ADD COLUMN email             text COLLATE "C",
    ADD COLUMN email_verified_at timestamptz;
ALTER TABLE users ADD CONSTRAINT users_email_length CHECK (octet_length(email) <= 254) NOT VALID;
