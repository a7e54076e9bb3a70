CREATE UNIQUE INDEX CONCURRENTLY sessions_public_id_key ON sessions (public_id);
