-- The index of GET /api/v1/users sorted by role (see 000003), built without
-- holding writes off; already there where 000003 built it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_role_id_idx ON users (role, id);
