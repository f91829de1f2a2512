-- What providers send that offerlab could not place (unknown initiative, no customer,
-- wrong currency, initiative not running, ...): kept with the reason and the raw signed
-- payload until it is replayed. One row per provider event (`external_id`: Stripe's
-- event id, Typeform's event id, the generic form's id), so a provider's retries do not
-- pile up. status: pending | replayed; `result`: the replay's outcome (JSON).
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    external_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    initiative TEXT,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    attempts BIGINT NOT NULL,
    last_attempt_at TIMESTAMP NOT NULL,
    result TEXT,
    replayed_at TIMESTAMP
);
CREATE UNIQUE INDEX inbox_provider_event ON inbox (provider, external_id);
CREATE INDEX inbox_status ON inbox (status, id);

-- Per initiative: how a survey's answers become responses. form_id: the Typeform form
-- whose answers belong to the initiative (unique). choices: JSON object, choice label ->
-- love | like | neutral | dislike.
CREATE TABLE survey_mappings (
    initiative_id BIGINT PRIMARY KEY REFERENCES initiatives (id),
    form_id TEXT NOT NULL,
    sentiment_ref TEXT NOT NULL,
    customer_field TEXT NOT NULL,
    segment_field TEXT,
    choices TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX survey_mappings_form ON survey_mappings (form_id);
