-- The index of GET /api/v1/users sorted by created_at (see 000003), built without
-- holding writes off; already there where 000003 built it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_created_at_id_idx ON users (created_at, id);
