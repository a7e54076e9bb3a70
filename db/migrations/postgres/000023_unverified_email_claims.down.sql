-- Addresses unique among all accounts again: this fails while two accounts
-- claim one address (clear all but one claim of each first). It holds
-- writes to users off while the index is built.
SET LOCAL lock_timeout = '5s';
ALTER TABLE attempt_windows DROP COLUMN window_end;
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
