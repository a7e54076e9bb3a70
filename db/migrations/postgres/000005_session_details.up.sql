-- What a user sees of their sessions: a public id (never the stored hash of
-- the secret), the client's User-Agent and IP at login. Adding nullable or
-- constant-default columns rewrites nothing: the table is locked only for
-- the catalog change. Sessions from before have no public id; they expire
-- within auth.session_absolute_ttl.
SET LOCAL lock_timeout = '5s';
ALTER TABLE sessions
    ADD COLUMN public_id  uuid,
    ADD COLUMN user_agent text NOT NULL DEFAULT '',
    ADD COLUMN ip         text NOT NULL DEFAULT '';
