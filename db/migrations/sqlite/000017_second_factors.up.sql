-- Second factors (see the PostgreSQL migration of the same number).
CREATE TABLE mfa_totp (
    user_id    TEXT    PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     BLOB    NOT NULL,
    created_at TEXT    NOT NULL,
    enabled_at TEXT,
    last_step  INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE mfa_recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest     BLOB NOT NULL CHECK (length(digest) = 32),
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, digest)
) STRICT;

CREATE TABLE pending_logins (
    id            BLOB    PRIMARY KEY CHECK (length(id) = 32),
    user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    verified_hash TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    expires_at    TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    user_agent    TEXT    NOT NULL DEFAULT '',
    ip            TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX pending_logins_user_id_idx ON pending_logins (user_id);
CREATE INDEX pending_logins_expires_at_idx ON pending_logins (expires_at);
