-- The root of every store-scoped table. Every table that holds store data carries store_id.
CREATE TABLE stores (
    store_id    text PRIMARY KEY CHECK (store_id ~ '^[A-Za-z0-9_-]{1,64}$'),
    name        text NOT NULL,
    currency    char(3) NOT NULL DEFAULT 'EUR',
    timezone    text NOT NULL DEFAULT 'UTC',
    address     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Events already applied to PostgreSQL, so the projector applies each exactly once.
CREATE TABLE processed_events (
    event_id    uuid PRIMARY KEY,
    store_id    text NOT NULL,
    event_type  text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processed_events_store ON processed_events (store_id, processed_at);
