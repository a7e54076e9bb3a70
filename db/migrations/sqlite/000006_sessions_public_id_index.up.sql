CREATE UNIQUE INDEX IF NOT EXISTS sessions_public_id_key ON sessions (public_id);
