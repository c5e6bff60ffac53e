-- The row writes of one group of broker events (apply_group.cpp), in one call.
--
-- Why a function: the group's events change the order, the account and the position one event
-- at a time, each change version-guarded and with its revision row. As separate statements
-- that was three to six round trips per event, and on this kind of machine a round trip (a
-- context switch in each process) costs more server CPU than the statement. The caller knows
-- every new version in advance (the version it holds + 1 per write), so it sends the writes
-- together and the function runs them in order, exactly as the statements did.
--
-- ops: a JSON array, in event order, of
--   {"row":"order", "id", "actor", "request_id", "status", "filled_quantity" (number),
--    "fill_notional", "reserved_amount" (decimal text), "reserved_quantity" (number),
--    "reject_reason" ("" keeps the old one), "version" (held)}
--   {"row":"account", "id", "actor", "request_id", "cash_balance", "cash_reserved"
--    (decimal text), "version" (held)}
--   {"row":"position", "id" (account), "symbol", "actor", "request_id", "quantity",
--    "quantity_reserved" (numbers), "cost_basis" (decimal text), "version" (held; 0: no row)}
-- A write that finds another version raises serialization_failure (40001): the statement rolls
-- back whole, and the caller reads again and retries, as after any version conflict.
-- Returns the number of writes.
CREATE OR REPLACE FUNCTION apply_row_writes(ops jsonb) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
  op jsonb;
  written integer;
  total integer := 0;
BEGIN
  FOR op IN SELECT value FROM jsonb_array_elements(ops) LOOP
    IF op->>'row' = 'order' THEN
      WITH u AS (
        UPDATE orders SET status = op->>'status',
               filled_quantity = (op->>'filled_quantity')::bigint,
               fill_notional = (op->>'fill_notional')::numeric,
               average_fill_price = CASE WHEN (op->>'filled_quantity')::bigint > 0 THEN
                 round((op->>'fill_notional')::numeric / (op->>'filled_quantity')::bigint, 4) END,
               reserved_amount = (op->>'reserved_amount')::numeric,
               reserved_quantity = (op->>'reserved_quantity')::bigint,
               reject_reason = coalesce(nullif(op->>'reject_reason', ''), reject_reason),
               version = version + 1, updated_at = clock_timestamp()
         WHERE order_id = op->>'id' AND version = (op->>'version')::bigint RETURNING *)
      INSERT INTO order_revisions (order_id, actor, channel, request_id, status, filled_quantity,
                                   reserved_amount, version, row_data)
      SELECT order_id, op->>'actor', 'BROKER', op->>'request_id', status, filled_quantity,
             reserved_amount, version, to_jsonb(u.*) FROM u;
    ELSIF op->>'row' = 'account' THEN
      WITH u AS (
        UPDATE accounts SET cash_balance = (op->>'cash_balance')::numeric,
               cash_reserved = (op->>'cash_reserved')::numeric, version = version + 1,
               updated_at = clock_timestamp()
         WHERE account_id = op->>'id' AND version = (op->>'version')::bigint RETURNING *)
      INSERT INTO account_revisions (account_id, actor, channel, request_id, version, row_data)
      SELECT account_id, op->>'actor', 'BROKER', op->>'request_id', version, to_jsonb(u.*)
        FROM u;
    ELSIF op->>'row' = 'position' THEN
      WITH u AS (
        INSERT INTO positions (account_id, symbol, quantity, quantity_reserved, cost_basis)
        VALUES (op->>'id', op->>'symbol', (op->>'quantity')::bigint,
                (op->>'quantity_reserved')::bigint, (op->>'cost_basis')::numeric)
        ON CONFLICT (account_id, symbol) DO UPDATE
          SET quantity = EXCLUDED.quantity, quantity_reserved = EXCLUDED.quantity_reserved,
              cost_basis = EXCLUDED.cost_basis, version = positions.version + 1,
              updated_at = clock_timestamp()
          WHERE positions.version = (op->>'version')::bigint RETURNING *)
      INSERT INTO position_revisions (account_id, symbol, actor, channel, request_id, version,
                                      row_data)
      SELECT account_id, symbol, op->>'actor', 'BROKER', op->>'request_id', version,
             to_jsonb(u.*) FROM u;
    ELSE
      RAISE EXCEPTION 'apply_row_writes: unknown row kind %', op->>'row';
    END IF;
    GET DIAGNOSTICS written = ROW_COUNT;
    IF written <> 1 THEN
      RAISE EXCEPTION 'apply_row_writes: % % is no longer at version %', op->>'row',
        op->>'id', op->>'version' USING ERRCODE = 'serialization_failure';
    END IF;
    total := total + 1;
  END LOOP;
  RETURN total;
END
$fn$;
