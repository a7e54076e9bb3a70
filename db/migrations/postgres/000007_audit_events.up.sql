-- The audit trail: append-only, one row per security event, written in the
-- transaction of the change it records. A new table: its indexes are built
-- while it is empty, so none needs CONCURRENTLY. The foreign keys take a
-- brief lock on users; lock_timeout bounds the wait for it so that a long
-- transaction on users fails this migration instead of queueing every
-- user write behind it.
SET LOCAL lock_timeout = '5s';

CREATE TABLE audit_events (
    id          uuid        PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    type        text        COLLATE "C" NOT NULL,
    actor_id    uuid        REFERENCES users (id) ON DELETE SET NULL,
    target_id   uuid        REFERENCES users (id) ON DELETE SET NULL,
    ip          text        NOT NULL DEFAULT '',
    user_agent  text        NOT NULL DEFAULT '',
    request_id  text        NOT NULL DEFAULT '',
    details     jsonb       NOT NULL DEFAULT '{}'
);

-- Every page is newest first, ties by id: each filter has the index that
-- reads its page as one range (the whole trail, by target, by actor, by
-- type); the retention purge reads the oldest through the first.
CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at, id);
CREATE INDEX audit_events_target_idx ON audit_events (target_id, occurred_at, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, occurred_at, id);
CREATE INDEX audit_events_type_idx ON audit_events (type, occurred_at, id);
