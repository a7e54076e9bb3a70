-- Second factors (SPEC 4c). New, empty tables: nothing that serves waits on
-- them.
SET LOCAL lock_timeout = '5s';

-- A user's authenticator app: the secret sealed with AES-256-GCM (key id,
-- nonce, ciphertext; never the secret in the clear), enabled once a first
-- code proved it (NULL: set up, not confirmed), and the last time step a
-- code was accepted for: a code of that step or an earlier one is refused.
CREATE TABLE mfa_totp (
    user_id    uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    enabled_at timestamptz,
    last_step  bigint      NOT NULL DEFAULT 0
);

-- Unused recovery codes, as HMAC-SHA256 digests under the mfa key: the
-- database alone yields no usable code. A code is used by deleting it.
CREATE TABLE mfa_recovery_codes (
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest     bytea       NOT NULL CHECK (octet_length(digest) = 32),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, digest)
);

-- Logins whose password was right and whose second step is outstanding:
-- the SHA-256 of the pending cookie's secret, the password hash that was
-- verified (the session is made only while it is still the user's), how
-- many second steps were tried, and the client.
CREATE TABLE pending_logins (
    id            bytea       PRIMARY KEY CHECK (octet_length(id) = 32),
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    verified_hash text        NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    attempts      integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    user_agent    text        NOT NULL DEFAULT '',
    ip            text        NOT NULL DEFAULT ''
);
CREATE INDEX pending_logins_user_id_idx ON pending_logins (user_id);
CREATE INDEX pending_logins_expires_at_idx ON pending_logins (expires_at);
