-- Fails while two accounts claim one address (clear all but one first).
ALTER TABLE attempt_windows DROP COLUMN window_end;
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
