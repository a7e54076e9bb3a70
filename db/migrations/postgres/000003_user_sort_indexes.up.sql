-- One index per sort order of GET /api/v1/users, each ending in id, the
-- tie-breaker, so every page is an index scan in either direction.
-- Sorting by username uses users_username_lower_key (unique: no ties).
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
CREATE INDEX users_updated_at_id_idx ON users (updated_at, id);
CREATE INDEX users_role_id_idx ON users (role, id);
CREATE INDEX users_is_active_id_idx ON users (is_active, id);
