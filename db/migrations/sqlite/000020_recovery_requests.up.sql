-- Recovery requests waiting for the worker (see the PostgreSQL migration
-- of the same number).
CREATE TABLE recovery_requests (
    id         TEXT    PRIMARY KEY,
    email      BLOB    NOT NULL,
    ip         TEXT    NOT NULL,
    user_agent TEXT    NOT NULL,
    request_id TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    due_at     TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0)
) STRICT;
CREATE INDEX recovery_requests_due_idx ON recovery_requests (due_at);
