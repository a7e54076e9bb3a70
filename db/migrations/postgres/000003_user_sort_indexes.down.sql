DROP INDEX users_is_active_id_idx;
DROP INDEX users_role_id_idx;
DROP INDEX users_updated_at_id_idx;
DROP INDEX users_created_at_id_idx;
