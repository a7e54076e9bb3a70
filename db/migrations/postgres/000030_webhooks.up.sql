-- Webhooks (SPEC 4e): the endpoints super admins register, the event types
-- each subscribes to, and the deliveries, queued in the transaction that
-- records their event and sent by the delivery loop of any replica. New,
-- empty tables: nothing that serves waits on them.
SET LOCAL lock_timeout = '5s';

-- An endpoint: its signing secret sealed (AES-256-GCM under the mfa key,
-- key id first, the endpoint's id authenticated with it; never the secret
-- in the clear), and after a rotation the replaced one, which still signs
-- until previous_until. failing_since: since when every attempt has
-- failed (NULL once one succeeds); five days of it disable the endpoint.
CREATE TABLE webhook_endpoints (
    id              uuid        PRIMARY KEY,
    url             text        NOT NULL CHECK (octet_length(url) <= 2048),
    description     text        NOT NULL CHECK (octet_length(description) <= 256),
    enabled         boolean     NOT NULL,
    secret          bytea       NOT NULL,
    previous_secret bytea,
    previous_until  timestamptz,
    failing_since   timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- The event types each endpoint subscribes to ('*': all). Recording an
-- event reads the rows of its type and of '*' through the primary key.
CREATE TABLE webhook_subscriptions (
    event_type  text COLLATE "C" NOT NULL,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    PRIMARY KEY (event_type, endpoint_id)
);
CREATE INDEX webhook_subscriptions_endpoint_id_idx ON webhook_subscriptions (endpoint_id);

-- One event on its way to one endpoint. id is the webhook-id header: the
-- audit event's id (a test delivery's own), the same on every attempt.
-- payload is the signed body, made when the event was recorded.
CREATE TABLE webhook_deliveries (
    endpoint_id     uuid        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    id              uuid        NOT NULL,
    event_type      text        COLLATE "C" NOT NULL,
    payload         text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- Due from this time; while an attempt runs, the end of its lease (a
    -- replica that dies mid-attempt leaves the delivery due again then).
    next_attempt_at timestamptz NOT NULL,
    -- The HTTP status of the last attempt; NULL: none yet, or no answer.
    last_status     integer,
    delivered_at    timestamptz,
    given_up_at     timestamptz,
    -- An endpoint's deliveries, newest first (ids are UUIDv7: their order
    -- is time order): the deliveries route, and the purge of the oldest.
    PRIMARY KEY (endpoint_id, id)
);
-- An endpoint's due deliveries, in the order they fall due: what a claim
-- reads, and what finds the endpoints with work.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (endpoint_id, next_attempt_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL;
