-- The gateway's own database (FLOW.md: no process reads another's tables).
--
-- broker_orders: one row per order (ClOrdID = order_id), written before anything is sent.
--   state            RECEIVED | SENT | UNCONFIRMED | ACKED | PARTIALLY_FILLED | FILLED |
--                    CANCELED | EXPIRED | REJECTED (gateway/src/domain/broker_order.h)
--   attempts         messages sent for the order: the first NewOrderSingle, then each status
--                    request or PossResend retry
--   next_attempt_at  while SENT: when the reply is overdue and the next attempt is due
--   cancel_*         the newest cancel request n, sent as ClOrdID {order_id}-C{n}
-- Timestamps in the HTTP answers: UTC, microseconds, 'Z' (as the ledger writes them).
CREATE FUNCTION rfc3339(ts timestamptz) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

CREATE TABLE broker_orders (
  order_id text PRIMARY KEY,
  broker text NOT NULL,
  account_id text NOT NULL,
  symbol text NOT NULL,
  side text NOT NULL CHECK (side IN ('BUY', 'SELL')),
  order_type text NOT NULL CHECK (order_type IN ('LIMIT', 'MARKET')),
  quantity bigint NOT NULL CHECK (quantity > 0),
  limit_price numeric(20, 4),
  time_in_force text NOT NULL,
  state text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  broker_order_id text,
  cum_qty bigint NOT NULL DEFAULT 0 CHECK (cum_qty >= 0 AND cum_qty <= quantity),
  reject_reason text,
  stream_entry_id text NOT NULL,
  received_seq bigserial NOT NULL,
  received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  first_sent_at timestamptz,
  last_sent_at timestamptz,
  last_reply_at timestamptz,
  next_attempt_at timestamptz,
  -- a status answer said the broker does not hold the order: the next attempt resends it
  resend_requested boolean NOT NULL DEFAULT false,
  cancel_request integer NOT NULL DEFAULT 0,
  cancel_state text NOT NULL DEFAULT 'NONE',
  cancel_attempts integer NOT NULL DEFAULT 0,
  cancel_next_attempt_at timestamptz,
  cancel_last_sent_at timestamptz
);
CREATE INDEX broker_orders_unsent ON broker_orders (received_seq) WHERE state = 'RECEIVED';
CREATE INDEX broker_orders_due ON broker_orders (next_attempt_at) WHERE state = 'SENT';
CREATE INDEX broker_orders_cancel_due ON broker_orders (cancel_next_attempt_at)
  WHERE cancel_state IN ('PENDING', 'SENT');

-- Every message sent for an order, for the retry-spacing record and for operators.
--   kind  NEW (first NewOrderSingle) | RESEND (NewOrderSingle, PossResend=Y) | STATUS (35=H)
--         | CANCEL (35=F) | CANCEL_RESEND (35=F, PossResend=Y)
-- cl_ord_id: the order's own for NEW/RESEND/STATUS, {order_id}-C{n} for cancels.
CREATE TABLE send_attempts (
  order_id text NOT NULL REFERENCES broker_orders (order_id),
  attempt integer NOT NULL,
  kind text NOT NULL,
  cl_ord_id text NOT NULL,
  sent_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (cl_ord_id, kind, attempt)
);
CREATE INDEX send_attempts_order ON send_attempts (order_id);

-- Outbox of the order-events stream. event_id is deterministic ({order_id}:{kind}[:{n}]), so an
-- event decided twice (a redelivered reply, a crash before commit) is stored once, and a
-- consumer deduplicating on event_id counts it once.
CREATE TABLE order_events (
  event_id text PRIMARY KEY,
  relay_seq bigserial NOT NULL,
  order_id text NOT NULL,
  kind text NOT NULL,
  payload text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at timestamptz
);
CREATE INDEX order_events_unpublished ON order_events (relay_seq) WHERE published_at IS NULL;

-- Stream entries that could not be understood: kept for an operator, acknowledged in the stream.
CREATE TABLE refused_entries (
  stream_entry_id text PRIMARY KEY,
  fields text NOT NULL,
  reason text NOT NULL,
  refused_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
