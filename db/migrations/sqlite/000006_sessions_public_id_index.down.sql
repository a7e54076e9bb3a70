DROP INDEX IF EXISTS sessions_public_id_key;
