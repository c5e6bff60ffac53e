-- Applying broker events (FLOW.md section 4).
--
-- orders.fill_notional: sum of quantity x price of the booked fills; average_fill_price is
--   derived from it (notional / filled) so repeated rounding never accumulates.
-- executions.booked: false for a fill recorded but not booked (overfill, or a late fill the
--   account could not pay); alarm says why. Dedup key for fills: (broker, exec_id).
-- applied_events: every other event applied (or found to change nothing), by event_id:
--   order-events' own ids, and "{broker}:{exec_id}" for non-fill execution reports.
-- consumer_cursors: the last fill receiver seq applied, written in the same transaction as the
--   apply, so the polling path resumes exactly after what is already in.
ALTER TABLE orders ADD COLUMN fill_notional numeric(24,4) NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN booked boolean NOT NULL DEFAULT true;
ALTER TABLE executions ADD COLUMN alarm text;
ALTER TABLE executions ADD COLUMN fill_receiver_seq bigint;

CREATE TABLE applied_events (
  event_id   text PRIMARY KEY,
  order_id   text NOT NULL,
  kind       text NOT NULL,
  source     text NOT NULL,  -- order-events | executions
  changed    boolean NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE consumer_cursors (
  name     text PRIMARY KEY,
  position bigint NOT NULL
);
INSERT INTO consumer_cursors (name, position) VALUES ('executions', 0);
