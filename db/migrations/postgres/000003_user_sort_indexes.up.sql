-- One index per sort order of GET /api/v1/users, each ending in id, the
-- tie-breaker, so every page is an index scan in either direction.
-- Sorting by username uses users_username_lower_key (unique: no ties).
--
-- This file built them with plain CREATE INDEX, which holds every write to
-- users off for the whole build (4.2 s at 1,000,000 users) while old
-- replicas serve. They are built CONCURRENTLY by 000008-000011 now, one a
-- file (IF NOT EXISTS: a database this file already ran on has them);
-- their drop stays here, in the down, for every database alike.
SELECT 1;
