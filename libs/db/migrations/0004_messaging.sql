-- The inbox and the transactional outbox (DESIGN §1): consumers record each applied event id in
-- the same transaction as its effects, and producers write events in the same transaction as
-- the state they describe; a relay publishes them afterwards. A crash between commit and
-- publish loses nothing; a redelivery applies nothing twice.

-- (consumer, event_id) applied. One row per handler that applied the event, so consumers of one
-- event in one database stay independent.
CREATE TABLE inbox (
  consumer   text NOT NULL,
  event_id   uuid NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
CREATE INDEX inbox_applied_at ON inbox (applied_at);

-- Events waiting to be published, in enqueue order (id). `event` is the whole envelope.
CREATE TABLE outbox (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id   uuid NOT NULL UNIQUE,
  type       text NOT NULL,
  key        text NOT NULL,
  event      jsonb NOT NULL CHECK (jsonb_typeof(event) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at    timestamptz,
  -- Publish attempts, and the last failure: an operator's view of a stuck outbox.
  attempts   integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  last_error text
);
-- The relay's claim scan, and its check for an earlier unsent event of the same key.
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
CREATE INDEX outbox_unsent_key ON outbox (key, id) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;
