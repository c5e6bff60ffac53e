-- apply_row_writes (migration 004) writes each row once per call.
--
-- Why: a group is one account's events of a stream read, so at 150 orders/s a call held about
-- ten ops, six of them on the account row and six on its positions (pg_stat_statements with
-- track = all, 2026-11-26). Each op was its own UPDATE: a new tuple version of the same row,
-- its index and WAL work, and a statement start, only for the next op to replace it. Now each
-- row gets one write with its last op's values and its version moved by the number of its ops;
-- each op still gets its revision, the row as it was after that op, in op order, so the
-- history (GET /v1/orders/{id}/history, the revision tables) is the same as before.
--
-- ops: as in migration 004. The ops of one row carry consecutive versions, from the one the
-- caller read (it adds 1 per write); a position's first op carries 0 when the caller read no
-- row. A row not at its first op's version (another writer came first) raises
-- serialization_failure (40001), and nothing of the call stays, as before.
--
-- What differs from one write per op: a revision's row_data is the row after the call with the
-- op's own columns laid over it (the columns an op sets: status, quantities, amounts, reject
-- reason, version); updated_at is the call's time in all of them. The table's CHECK
-- constraints see the row after the call, not each op's state: the caller's domain logic
-- (ledger_service/src/domain) keeps every state valid and asserts it.
-- Returns the number of ops.
CREATE OR REPLACE FUNCTION apply_row_writes(ops jsonb) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
  rows_expected integer;
  rows_written integer;
BEGIN
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(ops) AS e(op)
              WHERE coalesce(op->>'row', '') NOT IN ('order', 'account', 'position')) THEN
    RAISE EXCEPTION 'apply_row_writes: unknown row kind in %', ops;
  END IF;
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(ops) AS e(op)
              GROUP BY op->>'row', op->>'id', op->>'symbol'
             HAVING max((op->>'version')::bigint) - min((op->>'version')::bigint) + 1
                    <> count(*)) THEN
    RAISE EXCEPTION 'apply_row_writes: the ops of a row do not carry consecutive versions';
  END IF;

  -- Orders. `before` is the reject reason the row held, for the revisions of ops before the
  -- first op that sets one (an empty reason keeps the previous one).
  WITH o AS (
    SELECT op, n FROM jsonb_array_elements(ops) WITH ORDINALITY AS e(op, n)
     WHERE op->>'row' = 'order'),
  g AS (
    SELECT op->>'id' AS id, min((op->>'version')::bigint) AS held, count(*) AS writes,
           (array_agg(op ORDER BY n DESC))[1] AS last,
           (array_agg(op->>'reject_reason' ORDER BY n DESC)
              FILTER (WHERE op->>'reject_reason' <> ''))[1] AS reason
      FROM o GROUP BY op->>'id'),
  u AS (
    UPDATE orders t SET status = g.last->>'status',
           filled_quantity = (g.last->>'filled_quantity')::bigint,
           fill_notional = (g.last->>'fill_notional')::numeric,
           average_fill_price = CASE WHEN (g.last->>'filled_quantity')::bigint > 0 THEN
             round((g.last->>'fill_notional')::numeric / (g.last->>'filled_quantity')::bigint, 4)
             END,
           reserved_amount = (g.last->>'reserved_amount')::numeric,
           reserved_quantity = (g.last->>'reserved_quantity')::bigint,
           reject_reason = coalesce(g.reason, t.reject_reason),
           version = t.version + g.writes, updated_at = clock_timestamp()
      FROM (SELECT g.*, b.reject_reason AS before FROM g JOIN orders b ON b.order_id = g.id) g
     WHERE t.order_id = g.id AND t.version = g.held
    RETURNING t.*, g.before),
  revisions AS (
    INSERT INTO order_revisions (order_id, actor, channel, request_id, status, filled_quantity,
                                 reserved_amount, version, row_data)
    SELECT u.order_id, o.op->>'actor', 'BROKER', o.op->>'request_id', o.op->>'status',
           (o.op->>'filled_quantity')::bigint, (o.op->>'reserved_amount')::numeric,
           (o.op->>'version')::bigint + 1,
           (to_jsonb(u.*) - 'before') || jsonb_build_object(
             'status', o.op->>'status',
             'filled_quantity', (o.op->>'filled_quantity')::bigint,
             'fill_notional', (o.op->>'fill_notional')::numeric(24,4),
             'average_fill_price', CASE WHEN (o.op->>'filled_quantity')::bigint > 0 THEN
               round((o.op->>'fill_notional')::numeric / (o.op->>'filled_quantity')::bigint,
                     4)::numeric(20,4) END,
             'reserved_amount', (o.op->>'reserved_amount')::numeric(20,4),
             'reserved_quantity', (o.op->>'reserved_quantity')::bigint,
             'reject_reason', coalesce(
               (SELECT p.op->>'reject_reason' FROM o p
                 WHERE p.op->>'id' = o.op->>'id' AND p.n <= o.n AND p.op->>'reject_reason' <> ''
                 ORDER BY p.n DESC LIMIT 1), u.before),
             'version', (o.op->>'version')::bigint + 1)
      FROM o JOIN u ON u.order_id = o.op->>'id'
     ORDER BY o.n)
  SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM u) INTO rows_expected, rows_written;
  IF rows_written <> rows_expected THEN
    RAISE EXCEPTION 'apply_row_writes: an order is no longer at the version read'
      USING ERRCODE = 'serialization_failure';
  END IF;

  -- Accounts.
  WITH o AS (
    SELECT op, n FROM jsonb_array_elements(ops) WITH ORDINALITY AS e(op, n)
     WHERE op->>'row' = 'account'),
  g AS (
    SELECT op->>'id' AS id, min((op->>'version')::bigint) AS held, count(*) AS writes,
           (array_agg(op ORDER BY n DESC))[1] AS last
      FROM o GROUP BY op->>'id'),
  u AS (
    UPDATE accounts t SET cash_balance = (g.last->>'cash_balance')::numeric,
           cash_reserved = (g.last->>'cash_reserved')::numeric,
           version = t.version + g.writes, updated_at = clock_timestamp()
      FROM g WHERE t.account_id = g.id AND t.version = g.held
    RETURNING t.*),
  revisions AS (
    INSERT INTO account_revisions (account_id, actor, channel, request_id, version, row_data)
    SELECT u.account_id, o.op->>'actor', 'BROKER', o.op->>'request_id',
           (o.op->>'version')::bigint + 1,
           to_jsonb(u.*) || jsonb_build_object(
             'cash_balance', (o.op->>'cash_balance')::numeric(20,4),
             'cash_reserved', (o.op->>'cash_reserved')::numeric(20,4),
             'version', (o.op->>'version')::bigint + 1)
      FROM o JOIN u ON u.account_id = o.op->>'id'
     ORDER BY o.n)
  SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM u) INTO rows_expected, rows_written;
  IF rows_written <> rows_expected THEN
    RAISE EXCEPTION 'apply_row_writes: an account is no longer at the version read'
      USING ERRCODE = 'serialization_failure';
  END IF;

  -- Positions: a row the caller read none of (first op at version 0) is inserted at the
  -- version its ops bring it to; one it read is updated from that version.
  WITH o AS (
    SELECT op, n FROM jsonb_array_elements(ops) WITH ORDINALITY AS e(op, n)
     WHERE op->>'row' = 'position'),
  g AS (
    SELECT op->>'id' AS id, op->>'symbol' AS symbol, min((op->>'version')::bigint) AS held,
           count(*) AS writes, (array_agg(op ORDER BY n DESC))[1] AS last
      FROM o GROUP BY op->>'id', op->>'symbol'),
  inserted AS (
    INSERT INTO positions (account_id, symbol, quantity, quantity_reserved, cost_basis, version)
    SELECT g.id, g.symbol, (g.last->>'quantity')::bigint,
           (g.last->>'quantity_reserved')::bigint, (g.last->>'cost_basis')::numeric, g.writes
      FROM g WHERE g.held = 0
        ON CONFLICT (account_id, symbol) DO NOTHING
    RETURNING *),
  updated AS (
    UPDATE positions t SET quantity = (g.last->>'quantity')::bigint,
           quantity_reserved = (g.last->>'quantity_reserved')::bigint,
           cost_basis = (g.last->>'cost_basis')::numeric,
           version = t.version + g.writes, updated_at = clock_timestamp()
      FROM g WHERE g.held > 0 AND t.account_id = g.id AND t.symbol = g.symbol
       AND t.version = g.held
    RETURNING t.*),
  u AS (SELECT * FROM inserted UNION ALL SELECT * FROM updated),
  revisions AS (
    INSERT INTO position_revisions (account_id, symbol, actor, channel, request_id, version,
                                    row_data)
    SELECT u.account_id, u.symbol, o.op->>'actor', 'BROKER', o.op->>'request_id',
           (o.op->>'version')::bigint + 1,
           to_jsonb(u.*) || jsonb_build_object(
             'quantity', (o.op->>'quantity')::bigint,
             'quantity_reserved', (o.op->>'quantity_reserved')::bigint,
             'cost_basis', (o.op->>'cost_basis')::numeric(24,4),
             'version', (o.op->>'version')::bigint + 1)
      FROM o JOIN u ON u.account_id = o.op->>'id' AND u.symbol = o.op->>'symbol'
     ORDER BY o.n)
  SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM u) INTO rows_expected, rows_written;
  IF rows_written <> rows_expected THEN
    RAISE EXCEPTION 'apply_row_writes: a position is no longer at the version read'
      USING ERRCODE = 'serialization_failure';
  END IF;

  RETURN jsonb_array_length(ops);
END
$fn$;
