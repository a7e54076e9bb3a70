-- Sign-in with identity providers (SPEC 4d). New, empty tables: nothing
-- that serves waits on them.
SET LOCAL lock_timeout = '5s';

-- Identities linked to accounts: an account at a provider is its issuer
-- and its subject (the provider's own id of it), never its address, so
-- the pair is unique; email is the address the provider gave at the last
-- sign-in, shown to the user and never matched. id is the public id the
-- API shows.
CREATE TABLE identities (
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider     text        COLLATE "C" NOT NULL,
    issuer       text        COLLATE "C" NOT NULL,
    subject      text        COLLATE "C" NOT NULL,
    email        text,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz
);
CREATE UNIQUE INDEX identities_issuer_subject_key ON identities (issuer, subject);
-- A user's identities, in the order they were linked.
CREATE INDEX identities_user_id_idx ON identities (user_id, created_at, id);

-- Sign-ins with a provider between their start and their callback (10
-- minutes, single use: the callback deletes its row). Only digests of
-- what leaves the service are kept: the state's (the key) and the binding
-- cookie's; the PKCE verifier is sealed under mfa.encryption_key for the
-- row's id. A link flow names the signed-in user who began it.
CREATE TABLE oauth_flows (
    state_hash bytea       PRIMARY KEY CHECK (octet_length(state_hash) = 32),
    id         uuid        NOT NULL,
    provider   text        COLLATE "C" NOT NULL,
    purpose    text        COLLATE "C" NOT NULL CHECK (purpose IN ('sign_in', 'link')),
    user_id    uuid        REFERENCES users (id) ON DELETE CASCADE,
    session_id bytea,
    nonce      text        NOT NULL,
    verifier   bytea       NOT NULL,
    binding    bytea       NOT NULL CHECK (octet_length(binding) = 32),
    return_to  text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX oauth_flows_expires_at_idx ON oauth_flows (expires_at);
CREATE INDEX oauth_flows_user_id_idx ON oauth_flows (user_id);

-- A pending login's first step: a password, or a provider (SPEC 4d: its
-- second step makes a session of both methods). A constant default: only
-- the catalog changes.
ALTER TABLE pending_logins ADD COLUMN method text NOT NULL DEFAULT 'password';
