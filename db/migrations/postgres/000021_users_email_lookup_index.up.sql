-- Addresses stop being unique among all accounts (000023): an unverified
-- address holds nothing, so several accounts may claim one until one of
-- them verifies it, and that verification clears the others' claims (SPEC
-- 4b). Finding those claims, and every other lookup by address, reads this
-- plain index on the folded address. Built without holding writes off,
-- before 000023 drops the unique index that serves the lookups today.
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_lookup_idx ON users (lower(email));
