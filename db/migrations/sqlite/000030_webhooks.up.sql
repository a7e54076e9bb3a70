-- Webhooks (see the PostgreSQL migration of the same number).
CREATE TABLE webhook_endpoints (
    id              TEXT    PRIMARY KEY,
    url             TEXT    NOT NULL CHECK (length(CAST(url AS BLOB)) <= 2048),
    description     TEXT    NOT NULL CHECK (length(CAST(description AS BLOB)) <= 256),
    enabled         INTEGER NOT NULL,
    secret          BLOB    NOT NULL,
    previous_secret BLOB,
    previous_until  TEXT,
    failing_since   TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
) STRICT;

CREATE TABLE webhook_subscriptions (
    event_type  TEXT NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    PRIMARY KEY (event_type, endpoint_id)
) STRICT;
CREATE INDEX webhook_subscriptions_endpoint_id_idx ON webhook_subscriptions (endpoint_id);

CREATE TABLE webhook_deliveries (
    endpoint_id     TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    id              TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    payload         TEXT    NOT NULL DEFAULT '',
    created_at      TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT    NOT NULL,
    last_status     INTEGER,
    delivered_at    TEXT,
    given_up_at     TEXT,
    PRIMARY KEY (endpoint_id, id)
) STRICT;
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (endpoint_id, next_attempt_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;
