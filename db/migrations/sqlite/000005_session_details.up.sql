-- What a user sees of their sessions: a public id (never the stored hash of
-- the secret), the client's User-Agent and IP at login. Sessions from before
-- have no public id; they expire within auth.session_absolute_ttl.
ALTER TABLE sessions ADD COLUMN public_id TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
