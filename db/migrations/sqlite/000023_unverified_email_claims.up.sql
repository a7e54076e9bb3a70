-- Unverified addresses stop holding uniqueness, and each attempt window
-- records when it ends (see the PostgreSQL migration of the same number).
DROP INDEX users_email_lower_key;
ALTER TABLE attempt_windows ADD COLUMN window_end TEXT;
