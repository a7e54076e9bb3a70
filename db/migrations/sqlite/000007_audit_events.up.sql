-- The audit trail: append-only, one row per security event, written in the
-- transaction of the change it records.
CREATE TABLE audit_events (
    id          TEXT NOT NULL PRIMARY KEY,
    occurred_at TEXT NOT NULL,
    type        TEXT NOT NULL,
    actor_id    TEXT REFERENCES users (id) ON DELETE SET NULL,
    target_id   TEXT REFERENCES users (id) ON DELETE SET NULL,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    request_id  TEXT NOT NULL DEFAULT '',
    details     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
) STRICT;

-- Every page is newest first, ties by id: each filter has the index that
-- reads its page as one range (the whole trail, by target, by actor, by
-- type); the retention purge reads the oldest through the first.
CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at, id);
CREATE INDEX audit_events_target_idx ON audit_events (target_id, occurred_at, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, occurred_at, id);
CREATE INDEX audit_events_type_idx ON audit_events (type, occurred_at, id);
