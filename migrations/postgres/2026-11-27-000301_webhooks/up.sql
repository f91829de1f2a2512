-- Outbound webhooks (issue 12).
-- A subscription: where to post, which event types, an optional initiative or team
-- filter, the format (standard | slack) and the signing secret (whsec_..., kept so the
-- sender can sign; never listed).
CREATE TABLE webhooks (
    id BIGSERIAL PRIMARY KEY,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    initiative_key TEXT,
    team TEXT,
    format TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- The outbox: one row per (event, subscription), written in the transaction of the
-- change that causes the event. `message_id` is the webhook-id sent on every attempt.
-- The sender claims a due row by setting a lease (lease_token, lease_until); a lease
-- that ran out (a killed sender) makes the row due again.
CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    initiative_key TEXT,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_token TEXT,
    lease_until TIMESTAMP,
    delivered_at TIMESTAMP,
    last_status INTEGER,
    last_error TEXT
);
CREATE INDEX webhook_deliveries_open ON webhook_deliveries (state, webhook_id, id);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);

-- The delivery log: one row per attempt.
CREATE TABLE webhook_attempts (
    id BIGSERIAL PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL,
    status_code INTEGER,
    latency_ms BIGINT NOT NULL,
    error TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- What the notifier last told about each initiative (verdict status, SRM, planned size
-- reached): ingest compares the new figures with it in the same transaction, so a
-- change is announced exactly once.
CREATE TABLE webhook_state (
    initiative_id BIGINT PRIMARY KEY REFERENCES initiatives (id),
    verdict TEXT NOT NULL,
    srm BOOLEAN NOT NULL,
    plan_reached BOOLEAN NOT NULL
);
