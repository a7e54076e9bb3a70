-- The sort indexes, whichever migration built them (000003 before, now
-- 000008-000011, whose downs leave them to this one).
DROP INDEX IF EXISTS users_is_active_id_idx;
DROP INDEX IF EXISTS users_role_id_idx;
DROP INDEX IF EXISTS users_updated_at_id_idx;
DROP INDEX IF EXISTS users_created_at_id_idx;
