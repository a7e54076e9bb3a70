DROP INDEX CONCURRENTLY IF EXISTS sessions_public_id_key;
