-- Broker simulator ground truth (database broker_sim). An order per ClOrdID, ever: the primary
-- key is the simulator's promise that a repeated ClOrdID never becomes a second order, across
-- restarts. Every execution report it issued, in issue order (seq), with the drop copy's
-- progress, so nothing issued is lost from the drop copy when a process dies.
CREATE TABLE sim_orders (
  cl_ord_id       text PRIMARY KEY,
  broker_order_id text NOT NULL UNIQUE,
  symbol          text NOT NULL,
  side            text NOT NULL,
  type            text NOT NULL,
  quantity        bigint NOT NULL CHECK (quantity > 0),
  limit_price     numeric(20,4),
  cum_qty         bigint NOT NULL DEFAULT 0,
  cum_notional    numeric(24,4) NOT NULL DEFAULT 0,
  fills_done      integer NOT NULL DEFAULT 0,
  status          text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK (cum_qty >= 0 AND cum_qty <= quantity)
);

CREATE TABLE sim_executions (
  seq             bigserial PRIMARY KEY,
  exec_id         text NOT NULL UNIQUE,
  cl_ord_id       text NOT NULL,
  orig_cl_ord_id  text,
  broker_order_id text NOT NULL,
  exec_type       text NOT NULL,  -- FIX ExecType(150) code
  ord_status      text NOT NULL,  -- FIX OrdStatus(39) code
  symbol          text NOT NULL,
  side            text NOT NULL,
  order_qty       bigint NOT NULL,
  last_qty        bigint NOT NULL,
  last_px         numeric(20,4) NOT NULL,
  cum_qty         bigint NOT NULL,
  leaves_qty      bigint NOT NULL,
  avg_px          numeric(20,4) NOT NULL,
  text            text,
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE sim_prices (
  symbol     text PRIMARY KEY,
  price      numeric(20,4) NOT NULL CHECK (price > 0),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- How far the drop copy has carried sim_executions (one row per drop-copy session).
CREATE TABLE sim_drop_copy (
  session_id text PRIMARY KEY,
  sent_seq   bigint NOT NULL DEFAULT 0
);
