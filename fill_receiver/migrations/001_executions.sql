-- The fill receiver's database: every execution report a broker issued, once.
--
-- executions: one row per (broker, exec_id). seq is the arrival order: rows are inserted by the
--   fill receiver's single batch writer (src/report_writer.h), one statement per batch, batches
--   committed one after the other, so seq order is commit order and a reader of "after = N"
--   never misses a row that commits later with a smaller seq. (Comment only changed since this
--   migration was first applied: rows used to be inserted one per transaction by the QuickFIX
--   thread.)
--   raw_message: the report as received (FIX text, SOH shown as '|'), the evidence.
--   published_at: when the relay put it on the executions stream (NULL: not yet).
CREATE FUNCTION rfc3339(ts timestamptz) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

CREATE TABLE executions (
  seq bigserial PRIMARY KEY,
  broker text NOT NULL,
  exec_id text NOT NULL,
  order_id text NOT NULL,
  cl_ord_id text NOT NULL,
  broker_order_id text NOT NULL,
  exec_type text NOT NULL,
  ord_status text NOT NULL,
  symbol text NOT NULL,
  side text NOT NULL,
  order_qty bigint NOT NULL,
  last_qty bigint NOT NULL CHECK (last_qty >= 0),
  last_px numeric(20, 4) NOT NULL,
  cum_qty bigint NOT NULL CHECK (cum_qty >= 0),
  leaves_qty bigint NOT NULL CHECK (leaves_qty >= 0),
  avg_px numeric(20, 4) NOT NULL,
  transact_time text NOT NULL,
  text text NOT NULL,
  raw_message text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at timestamptz,
  UNIQUE (broker, exec_id)
);
CREATE INDEX executions_unpublished ON executions (seq) WHERE published_at IS NULL;
CREATE INDEX executions_order ON executions (order_id);
