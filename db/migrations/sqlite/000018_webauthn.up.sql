-- Passkeys and security keys (see the PostgreSQL migration of the same
-- number).
CREATE TABLE webauthn_users (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle  BLOB NOT NULL UNIQUE CHECK (length(handle) = 32)
) STRICT;

CREATE TABLE webauthn_credentials (
    id           BLOB    PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public_id    TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    credential   TEXT    NOT NULL,
    sign_count   INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT    NOT NULL,
    last_used_at TEXT
) STRICT;
CREATE INDEX webauthn_credentials_user_id_idx ON webauthn_credentials (user_id, created_at, id);

CREATE TABLE webauthn_challenges (
    id         BLOB PRIMARY KEY CHECK (length(id) = 32),
    purpose    TEXT NOT NULL CHECK (purpose IN ('register', 'second_step', 'passkey')),
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    session    TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX webauthn_challenges_expires_at_idx ON webauthn_challenges (expires_at);
CREATE INDEX webauthn_challenges_user_id_idx ON webauthn_challenges (user_id);
