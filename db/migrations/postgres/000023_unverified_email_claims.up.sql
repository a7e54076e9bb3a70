-- 1. Unverified addresses stop holding uniqueness: the index over every
-- address goes (000022 keeps verified ones unique, 000021 serves lookups).
-- Dropping an index takes the table's exclusive lock for a catalog change
-- only; lock_timeout bounds how long user queries may queue behind it.
--
-- During a rolling deploy, replicas of the previous release keep serving
-- after this: they insert or set an address without the new release's
-- check, and nothing refuses a duplicate any more unless it is verified
-- (users_verified_email_key). So an old replica accepts an address another
-- account has claimed but not verified: what this release allows too. It
-- also accepts a claim (unverified) of an address another account has
-- verified, which this release refuses with 409: such a claim can never be
-- verified (users_verified_email_key refuses it: the old release answers
-- 500, this one invalid_token) and no recovery finds it (recovery reads
-- verified addresses only), so it holds nothing; the account's owner can
-- change it. An old replica's recovery lookup (lower(email) alone) may meet
-- an unverified duplicate before the verified row and send nothing for that
-- request; an old replica's verification clears no other claim. Both end
-- with the deploy.
--
-- 2. Each attempt window records when it ends, so the purge keeps every
-- window for its own length (an hourly cap is not purged with the
-- 15-minute login windows). Nullable, no default: a catalog change, no
-- rewrite. Rows written by the previous release have no end: the purge
-- keeps them for the longest configured window, as before.
SET LOCAL lock_timeout = '5s';
DROP INDEX IF EXISTS users_email_lower_key;
ALTER TABLE attempt_windows ADD COLUMN window_end timestamptz;
