-- Ledger schema, version 1. Amounts are NUMERIC(20,4) (the fixed-point Money of common/money.h,
-- four decimals); quantities are BIGINT. Every balance is also the sum of journal lines:
--
--   book                  asset   what it holds for the account
--   cash.available        USD     cash free to trade or withdraw
--   cash.reserved         USD     cash held by open BUY orders
--   securities.available  symbol  shares free to sell
--   securities.reserved   symbol  shares held by open SELL orders
--   external              any     the outside world (deposits, withdrawals, transfers in)
--
--   accounts.cash_balance      = sum(cash.available) + sum(cash.reserved)
--   accounts.cash_reserved     = sum(cash.reserved)
--   positions.quantity         = sum(securities.available) + sum(securities.reserved)
--   positions.quantity_reserved = sum(securities.reserved)
-- and the lines of one entry sum to zero per asset.

CREATE FUNCTION rfc3339(ts timestamptz) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

CREATE TABLE accounts (
  account_id    text PRIMARY KEY,
  currency      text NOT NULL,
  cash_balance  numeric(20,4) NOT NULL DEFAULT 0,
  cash_reserved numeric(20,4) NOT NULL DEFAULT 0,
  version       bigint NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT cash_reserved_not_negative CHECK (cash_reserved >= 0),
  CONSTRAINT cash_available_not_negative CHECK (cash_balance >= cash_reserved)
);

CREATE TABLE positions (
  account_id        text NOT NULL REFERENCES accounts,
  symbol            text NOT NULL,
  quantity          bigint NOT NULL DEFAULT 0,
  quantity_reserved bigint NOT NULL DEFAULT 0,
  cost_basis        numeric(24,4) NOT NULL DEFAULT 0,  -- total cost of `quantity` shares
  version           bigint NOT NULL DEFAULT 1,
  updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (account_id, symbol),
  CONSTRAINT quantity_reserved_in_range CHECK (quantity_reserved >= 0 AND quantity_reserved <= quantity)
);

CREATE SEQUENCE order_seq;

CREATE TABLE orders (
  order_id            text PRIMARY KEY,
  seq                 bigint NOT NULL UNIQUE,  -- list order and cursors
  account_id          text NOT NULL REFERENCES accounts,
  idempotency_key     text NOT NULL,
  request_fingerprint text NOT NULL,
  symbol              text NOT NULL,
  side                text NOT NULL,
  type                text NOT NULL,
  quantity            bigint NOT NULL CHECK (quantity > 0),
  limit_price         numeric(20,4),
  time_in_force       text NOT NULL,
  broker              text NOT NULL,
  channel             text NOT NULL,
  status              text NOT NULL,
  filled_quantity     bigint NOT NULL DEFAULT 0,
  average_fill_price  numeric(20,4),
  reserved_amount     numeric(20,4) NOT NULL DEFAULT 0,  -- cash still held (BUY)
  reserved_quantity   bigint NOT NULL DEFAULT 0,         -- shares still held (SELL)
  cancel_requests     integer NOT NULL DEFAULT 0,
  reject_reason       text,
  created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  version             bigint NOT NULL DEFAULT 1,
  UNIQUE (account_id, idempotency_key),
  CHECK (filled_quantity >= 0 AND filled_quantity <= quantity)
);
CREATE INDEX orders_by_account ON orders (account_id, seq DESC);

-- Revisions: every committed change of an order, account or position, with who, how and the
-- full row as it was after the change.
CREATE TABLE order_revisions (
  revision        bigserial PRIMARY KEY,
  order_id        text NOT NULL,
  changed_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor           text NOT NULL,
  channel         text NOT NULL,
  request_id      text NOT NULL,
  status          text NOT NULL,
  filled_quantity bigint NOT NULL,
  reserved_amount numeric(20,4) NOT NULL,
  version         bigint NOT NULL,
  row_data        jsonb NOT NULL
);
CREATE INDEX order_revisions_by_order ON order_revisions (order_id, revision);

CREATE TABLE account_revisions (
  revision   bigserial PRIMARY KEY,
  account_id text NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor      text NOT NULL,
  channel    text NOT NULL,
  request_id text NOT NULL,
  version    bigint NOT NULL,
  row_data   jsonb NOT NULL
);
CREATE INDEX account_revisions_by_account ON account_revisions (account_id, revision);

CREATE TABLE position_revisions (
  revision   bigserial PRIMARY KEY,
  account_id text NOT NULL,
  symbol     text NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor      text NOT NULL,
  channel    text NOT NULL,
  request_id text NOT NULL,
  version    bigint NOT NULL,
  row_data   jsonb NOT NULL
);
CREATE INDEX position_revisions_by_position ON position_revisions (account_id, symbol, revision);

-- Deposits, withdrawals and security deposits, keyed by the client's reference so a replay
-- answers the first result and books nothing.
CREATE TABLE transfers (
  account_id          text NOT NULL REFERENCES accounts,
  reference           text NOT NULL,
  kind                text NOT NULL,
  request_fingerprint text NOT NULL,
  response            text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (account_id, reference)
);

CREATE TABLE journal_entries (
  entry_id   bigserial PRIMARY KEY,
  account_id text NOT NULL REFERENCES accounts,
  kind       text NOT NULL,
  order_id   text,
  exec_id    text,
  reference  text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX journal_entries_by_account ON journal_entries (account_id, entry_id DESC);

CREATE TABLE journal_lines (
  entry_id bigint NOT NULL REFERENCES journal_entries,
  line_no  smallint NOT NULL,
  book     text NOT NULL,
  asset    text NOT NULL,
  amount   numeric(24,4) NOT NULL,
  PRIMARY KEY (entry_id, line_no)
);

-- Fills applied to orders (filled by the executions consumer).
CREATE TABLE executions (
  broker      text NOT NULL,
  exec_id     text NOT NULL,
  order_id    text NOT NULL REFERENCES orders,
  quantity    bigint NOT NULL,
  price       numeric(20,4) NOT NULL,
  executed_at timestamptz NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (broker, exec_id)
);
CREATE INDEX executions_by_order ON executions (order_id, executed_at);

-- Transactional outbox: written in the order's own statement, relayed to orders:{broker}.
CREATE TABLE outbox (
  id         bigserial PRIMARY KEY,
  broker     text NOT NULL,
  kind       text NOT NULL,  -- NEW | CANCEL
  order_id   text NOT NULL,
  payload    text NOT NULL,  -- JSON, see ledger_service/src/outbox_relay.h
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  sent_at    timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
