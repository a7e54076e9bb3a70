-- The index of GET /api/v1/users sorted by is_active (see 000003), built without
-- holding writes off; already there where 000003 built it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_is_active_id_idx ON users (is_active, id);
