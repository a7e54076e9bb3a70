-- Recovery requests waiting for the worker of any replica (SPEC 4b): each
-- is stored before its 202, the same row whatever the address, and deleted
-- in the transaction that does its work. The typed address is sealed
-- (AES-256-GCM under mfa.encryption_key, the row's id authenticated with
-- it): the table never holds an address in the clear. A new, empty table:
-- nothing that serves waits on it.
SET LOCAL lock_timeout = '5s';
CREATE TABLE recovery_requests (
    id         uuid        PRIMARY KEY,
    email      bytea       NOT NULL,
    -- Who asked, for the recovery.requested event.
    ip         text        COLLATE "C" NOT NULL,
    user_agent text        NOT NULL,
    request_id text        COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    -- Due from this time; while a worker holds it, the end of its lease
    -- (a replica that dies mid-work leaves it due again then).
    due_at     timestamptz NOT NULL,
    -- Claims so far: the worker gives a request up after a few, and a
    -- claim whose count has moved on (its lease ended and another worker
    -- took the row) commits nothing.
    attempts   integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0)
);
-- The due requests, in the order they fall due: what a claim reads.
CREATE INDEX recovery_requests_due_idx ON recovery_requests (due_at);
