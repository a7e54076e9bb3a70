-- Passkeys and security keys (SPEC 4c). New, empty tables: nothing that
-- serves waits on them.
SET LOCAL lock_timeout = '5s';

-- A user's WebAuthn user handle: random, made at the first registration,
-- never the username or the database id (authenticators keep it, and a
-- discoverable credential gives it back at sign-in).
CREATE TABLE webauthn_users (
    user_id uuid  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle  bytea NOT NULL UNIQUE CHECK (octet_length(handle) = 32)
);

-- Registered credentials: the credential id, its owner, the name the user
-- gave it, the library's record of it (public key, transports, backup
-- flags, AAGUID; JSON), and its signature counter, which only moves
-- forward (a counter that goes back is a cloned authenticator).
CREATE TABLE webauthn_credentials (
    id           bytea       PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public_id    uuid        NOT NULL UNIQUE,
    name         text        NOT NULL,
    credential   text        NOT NULL,
    sign_count   bigint      NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz
);
CREATE INDEX webauthn_credentials_user_id_idx ON webauthn_credentials (user_id, created_at, id);

-- Ceremonies begun and not yet finished: the SHA-256 of the challenge (the
-- finish step finds its ceremony by the challenge the authenticator
-- signed, on any replica), what it is for, whose it is, the library's
-- session data (JSON), and its expiry. Single use: finishing deletes it.
CREATE TABLE webauthn_challenges (
    id         bytea       PRIMARY KEY CHECK (octet_length(id) = 32),
    purpose    text        COLLATE "C" NOT NULL CHECK (purpose IN ('register', 'second_step', 'passkey')),
    user_id    uuid        REFERENCES users (id) ON DELETE CASCADE,
    session    text        NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX webauthn_challenges_expires_at_idx ON webauthn_challenges (expires_at);
CREATE INDEX webauthn_challenges_user_id_idx ON webauthn_challenges (user_id);
