-- API keys (see the PostgreSQL migration of the same number).
CREATE TABLE api_keys (
    id           BLOB PRIMARY KEY CHECK (length(id) = 16),
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'full')),
    secret_hash  BLOB NOT NULL CHECK (length(secret_hash) = 40),
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    last_used_at TEXT,
    last_used_ip TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id, created_at, id);
CREATE INDEX api_keys_expires_at_idx ON api_keys (expires_at);
CREATE INDEX api_keys_key_id_idx ON api_keys (substr(secret_hash, 1, 8));
