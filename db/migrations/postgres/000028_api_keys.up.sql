-- API keys (SPEC 4f). A new, empty table: nothing that serves waits on it.
SET LOCAL lock_timeout = '5s';

-- A user's keys for scripts and servers. The id is the key's id part (16
-- random bytes; the API shows them as a UUID): a request presenting a key
-- finds its row by the primary key, one probe (concurrent requests share
-- one query for a list of ids, as for sessions).
-- Nothing stored yields a key: secret_hash is the mfa key id (8 bytes)
-- and HMAC-SHA256 of the id and the secret under that key; the prefix the
-- API shows follows from the id. A revoked key is deleted.
CREATE TABLE api_keys (
    id           bytea       PRIMARY KEY CHECK (octet_length(id) = 16),
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL,
    scope        text        NOT NULL CHECK (scope IN ('read', 'full')),
    secret_hash  bytea       NOT NULL CHECK (octet_length(secret_hash) = 40),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    -- Written at most once a minute per key.
    last_used_at timestamptz,
    last_used_ip text        COLLATE "C" NOT NULL DEFAULT ''
);
-- A user's keys: the list, the count of live ones, revoking them all.
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id, created_at, id);
-- The purge of expired keys.
CREATE INDEX api_keys_expires_at_idx ON api_keys (expires_at);
-- Which mfa key each hash needs (its first 8 bytes), as for the sealed
-- second factors: start-up finds the key ids in use by skipping through it.
CREATE INDEX api_keys_key_id_idx ON api_keys (substr(secret_hash, 1, 8));
