-- Sign-in with identity providers (see the PostgreSQL migration of the
-- same number).
CREATE TABLE identities (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    email        TEXT,
    created_at   TEXT NOT NULL,
    last_used_at TEXT
) STRICT;
CREATE UNIQUE INDEX identities_issuer_subject_key ON identities (issuer, subject);
CREATE INDEX identities_user_id_idx ON identities (user_id, created_at, id);

CREATE TABLE oauth_flows (
    state_hash BLOB PRIMARY KEY CHECK (length(state_hash) = 32),
    id         TEXT NOT NULL,
    provider   TEXT NOT NULL,
    purpose    TEXT NOT NULL CHECK (purpose IN ('sign_in', 'link')),
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    session_id BLOB,
    nonce      TEXT NOT NULL,
    verifier   BLOB NOT NULL,
    binding    BLOB NOT NULL CHECK (length(binding) = 32),
    return_to  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX oauth_flows_expires_at_idx ON oauth_flows (expires_at);
CREATE INDEX oauth_flows_user_id_idx ON oauth_flows (user_id);

ALTER TABLE pending_logins ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
