-- One-time tokens (email verification, recovery): only the SHA-256 of a token
-- is stored, with its user, purpose, the address it was sent to, its expiry
-- and its use. And the mail outbox: a message is stored in the transaction
-- of the change that causes it, then sent by the delivery loop of any
-- replica. New, empty tables: nothing that serves waits on them.
SET LOCAL lock_timeout = '5s';
CREATE TABLE one_time_tokens (
    id         bytea       PRIMARY KEY CHECK (octet_length(id) = 32),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        COLLATE "C" NOT NULL CHECK (purpose IN ('verify_email', 'recovery')),
    email      text        COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX one_time_tokens_user_id_idx ON one_time_tokens (user_id);
CREATE INDEX one_time_tokens_expires_at_idx ON one_time_tokens (expires_at);

CREATE TABLE mail_outbox (
    id              uuid        PRIMARY KEY,
    template        text        COLLATE "C" NOT NULL,
    recipient       text        COLLATE "C" NOT NULL,
    subject         text        NOT NULL,
    text_body       text        NOT NULL,
    html_body       text        NOT NULL,
    -- The bodies carry a one-time token: erased once sent or given up.
    secret          boolean     NOT NULL,
    created_at      timestamptz NOT NULL,
    -- Not worth sending after this (the token's expiry); NULL: no limit.
    expires_at      timestamptz,
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- Due from this time; while an attempt runs, the end of its lease (a
    -- replica that dies mid-attempt leaves the message due again then).
    next_attempt_at timestamptz NOT NULL,
    sent_at         timestamptz,
    failed_at       timestamptz,
    last_error      text        NOT NULL DEFAULT ''
);
-- The due messages, in the order they fall due: what a claim reads.
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
-- The purge of finished messages.
CREATE INDEX mail_outbox_created_at_idx ON mail_outbox (created_at);
