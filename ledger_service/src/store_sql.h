// SQL text of the ledger's prepared statements, kept beside the layouts they write.
#pragma once

namespace fbg::ledger::sql {

// The intake of a batch of orders (order_intake.h), one element per order in each array, each
// order of another account.
//
// $1 account ids  $2 idempotency keys  $3 symbols
// -> per order, by its place n (1-based): account columns (NULL: no such account), the order
//    already placed under the key and its fingerprint, the position, the next order seq
inline constexpr const char* kPlaceOrdersRead = R"(
SELECT i.n, a.cash_balance::text, a.cash_reserved::text, a.version,
       o.order_id, o.request_fingerprint,
       p.quantity, p.quantity_reserved, p.version,
       nextval('order_seq')
  FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY
       AS i(account_id, idempotency_key, symbol, n)
  LEFT JOIN accounts a ON a.account_id = i.account_id
  LEFT JOIN orders o ON o.account_id = i.account_id AND o.idempotency_key = i.idempotency_key
  LEFT JOIN positions p ON p.account_id = i.account_id AND p.symbol = i.symbol
 ORDER BY i.n)";

// Each order is guarded by its holder's version: the account for a BUY (cash), the position for
// a SELL (shares). An order whose holder changed since the read updates nothing, so nothing of
// it is written (no row comes back for it: the caller reads again and retries).
//
// $1 account_id  $2 holder version  $3 reserve (cash for a BUY, shares for a SELL)  $4 order_id
// $5 seq  $6 idempotency_key  $7 fingerprint  $8 symbol  $9 side  $10 type  $11 quantity
// $12 limit_price ('' = none)  $13 time_in_force  $14 broker  $15 channel  $16 actor
// $17 request_id: each an array, one element per order.
//
// journal lines of an order's entry:        BUY                    SELL
//   1  {available}  -reserve                cash.available USD     securities.available {symbol}
//   2  {reserved}   +reserve                cash.reserved  USD     securities.reserved  {symbol}
// Followed by kPlacedOutboxRows.
inline constexpr const char* kPlaceOrders = R"(
WITH i AS (
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[],
                       $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[],
                       $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[])
    AS i(account_id, holder_version, reserve, order_id, seq, idempotency_key, fingerprint,
         symbol, side, type, quantity, limit_price, time_in_force, broker, channel, actor,
         request_id)),
cash AS (
  UPDATE accounts a SET cash_reserved = a.cash_reserved + i.reserve::numeric,
         version = a.version + 1, updated_at = clock_timestamp()
    FROM i
   WHERE i.side = 'BUY' AND a.account_id = i.account_id AND a.version = i.holder_version
  RETURNING a.*, i.order_id AS for_order),
shares AS (
  UPDATE positions p SET quantity_reserved = p.quantity_reserved + i.reserve::bigint,
         version = p.version + 1, updated_at = clock_timestamp()
    FROM i
   WHERE i.side = 'SELL' AND p.account_id = i.account_id AND p.symbol = i.symbol
     AND p.version = i.holder_version
  RETURNING p.*, i.order_id AS for_order),
account_revision AS (
  INSERT INTO account_revisions (account_id, actor, channel, request_id, version, row_data)
  SELECT c.account_id, i.actor, i.channel, i.request_id, c.version, to_jsonb(c.*) - 'for_order'
    FROM cash c JOIN i ON i.order_id = c.for_order),
position_revision AS (
  INSERT INTO position_revisions (account_id, symbol, actor, channel, request_id, version, row_data)
  SELECT s.account_id, s.symbol, i.actor, i.channel, i.request_id, s.version,
         to_jsonb(s.*) - 'for_order'
    FROM shares s JOIN i ON i.order_id = s.for_order),
placed AS (
  INSERT INTO orders (order_id, seq, account_id, idempotency_key, request_fingerprint, symbol,
                      side, type, quantity, limit_price, time_in_force, broker, channel, status,
                      reserved_amount, reserved_quantity)
  SELECT i.order_id, i.seq, i.account_id, i.idempotency_key, i.fingerprint, i.symbol, i.side,
         i.type, i.quantity, NULLIF(i.limit_price, '')::numeric, i.time_in_force, i.broker,
         i.channel, 'PENDING_NEW',
         CASE WHEN i.side = 'BUY' THEN i.reserve::numeric ELSE 0 END,
         CASE WHEN i.side = 'SELL' THEN i.reserve::bigint ELSE 0 END
    FROM i
   WHERE i.order_id IN (SELECT for_order FROM cash UNION ALL SELECT for_order FROM shares)
  RETURNING *),
order_revision AS (
  INSERT INTO order_revisions (order_id, actor, channel, request_id, status, filled_quantity,
                               reserved_amount, version, row_data)
  SELECT p.order_id, i.actor, i.channel, i.request_id, p.status, p.filled_quantity,
         p.reserved_amount, p.version, to_jsonb(p.*)
    FROM placed p JOIN i ON i.order_id = p.order_id),
entry AS (
  INSERT INTO journal_entries (account_id, kind, order_id)
  SELECT account_id, 'ORDER_RESERVE', order_id FROM placed RETURNING entry_id, order_id),
entry_lines AS (
  INSERT INTO journal_lines (entry_id, line_no, book, asset, amount)
  SELECT e.entry_id, l.line_no, l.book, l.asset, l.amount
    FROM entry e JOIN i ON i.order_id = e.order_id,
         LATERAL (VALUES
           (1::smallint, CASE WHEN i.side = 'BUY' THEN 'cash.available'
                              ELSE 'securities.available' END,
            CASE WHEN i.side = 'BUY' THEN 'USD' ELSE i.symbol END, -(i.reserve::numeric)),
           (2::smallint, CASE WHEN i.side = 'BUY' THEN 'cash.reserved'
                              ELSE 'securities.reserved' END,
            CASE WHEN i.side = 'BUY' THEN 'USD' ELSE i.symbol END, i.reserve::numeric))
         AS l(line_no, book, asset, amount)),
)";

// The end of both intake writes (kPlaceOrders, kPlaceOrderTail), which name the orders they
// placed `placed`: each order's outbox row, and the orders as the statement's result.
// outbox.payload for kind NEW (JSON):
//   {"order_id","account_id","symbol","side","type","quantity","limit_price"|null,
//    "time_in_force","broker","channel","created_at"}
inline constexpr const char* kPlacedOutboxRows = R"(
outbox_row AS (
  INSERT INTO outbox (broker, kind, order_id, payload)
  SELECT broker, 'NEW', order_id,
         json_build_object('order_id', order_id, 'account_id', account_id, 'symbol', symbol,
                           'side', side, 'type', type, 'quantity', quantity,
                           'limit_price', limit_price::text, 'time_in_force', time_in_force,
                           'broker', broker, 'channel', channel,
                           'created_at', rfc3339(created_at))::text
    FROM placed)
SELECT {ORDER_COLUMNS} FROM placed o)";

// An order alone (order_intake.h): the same read and write as a batch's, with one value per
// parameter. A batch of one through the statements below costs the server less than through
// the batch's arrays (docs/performance.md, "The intake's group commit").
//
// $1 account_id  $2 idempotency_key  $3 symbol
// -> the columns of kPlaceOrdersRead (n is 1); no row when the account does not exist
inline constexpr const char* kPlaceOrderRead = R"(
SELECT 1, a.cash_balance::text, a.cash_reserved::text, a.version,
       o.order_id, o.request_fingerprint,
       p.quantity, p.quantity_reserved, p.version,
       nextval('order_seq')
  FROM accounts a
  LEFT JOIN orders o ON o.account_id = a.account_id AND o.idempotency_key = $2
  LEFT JOIN positions p ON p.account_id = a.account_id AND p.symbol = $3
 WHERE a.account_id = $1)";

// The holder is the row whose version guards the order: the account for a BUY (cash), the
// position for a SELL (shares).
inline constexpr const char* kBuyHolder = R"(
holder AS (
  UPDATE accounts SET cash_reserved = cash_reserved + $3::numeric, version = version + 1,
         updated_at = clock_timestamp()
   WHERE account_id = $1 AND version = $2 RETURNING *),
holder_revision AS (
  INSERT INTO account_revisions (account_id, actor, channel, request_id, version, row_data)
  SELECT account_id, $16, $15, $17, version, to_jsonb(holder.*) FROM holder),
)";

inline constexpr const char* kSellHolder = R"(
holder AS (
  UPDATE positions SET quantity_reserved = quantity_reserved + $3::bigint, version = version + 1,
         updated_at = clock_timestamp()
   WHERE account_id = $1 AND symbol = $8 AND version = $2 RETURNING *),
holder_revision AS (
  INSERT INTO position_revisions (account_id, symbol, actor, channel, request_id, version, row_data)
  SELECT account_id, symbol, $16, $15, $17, version, to_jsonb(holder.*) FROM holder),
)";

// $3 reserve  $4 order_id  $5 seq  $6 idempotency_key  $7 fingerprint  $8 symbol  $9 side
// $10 type  $11 quantity  $12 limit_price ('' = none)  $13 time_in_force  $14 broker
// $15 channel  $16 actor  $17 request_id. {RESERVED_AMOUNT}, {RESERVED_QUANTITY}, {AVAILABLE},
// {RESERVED} and {ASSET} are filled per side.
//
// Followed by kPlacedOutboxRows.
inline constexpr const char* kPlaceOrderTail = R"(
placed AS (
  INSERT INTO orders (order_id, seq, account_id, idempotency_key, request_fingerprint, symbol,
                      side, type, quantity, limit_price, time_in_force, broker, channel, status,
                      reserved_amount, reserved_quantity)
  SELECT $4, $5, holder.account_id, $6, $7, $8, $9, $10, $11, NULLIF($12, '')::numeric, $13, $14,
         $15, 'PENDING_NEW', {RESERVED_AMOUNT}, {RESERVED_QUANTITY}
    FROM holder RETURNING *),
order_revision AS (
  INSERT INTO order_revisions (order_id, actor, channel, request_id, status, filled_quantity,
                               reserved_amount, version, row_data)
  SELECT order_id, $16, $15, $17, status, filled_quantity, reserved_amount, version,
         to_jsonb(placed.*) FROM placed),
entry AS (
  INSERT INTO journal_entries (account_id, kind, order_id)
  SELECT account_id, 'ORDER_RESERVE', order_id FROM placed RETURNING entry_id),
entry_lines AS (
  INSERT INTO journal_lines (entry_id, line_no, book, asset, amount)
  SELECT entry.entry_id, l.line_no, l.book, l.asset, l.amount
    FROM entry, (VALUES (1::smallint, '{AVAILABLE}', {ASSET}, -($3::numeric)),
                        (2::smallint, '{RESERVED}', {ASSET}, $3::numeric))
                AS l(line_no, book, asset, amount)),
)";

// $1 order_id  $2 version  $3 actor  $4 channel  $5 request_id
// outbox.payload for kind CANCEL (JSON):
//   {"order_id","account_id","cancel_request" (1, 2,
//   ...),"symbol","side","quantity","requested_at"}
inline constexpr const char* kRequestCancel = R"(
WITH changed AS (
  UPDATE orders SET status = 'PENDING_CANCEL', cancel_requests = cancel_requests + 1,
         version = version + 1, updated_at = clock_timestamp()
   WHERE order_id = $1 AND version = $2 RETURNING *),
order_revision AS (
  INSERT INTO order_revisions (order_id, actor, channel, request_id, status, filled_quantity,
                               reserved_amount, version, row_data)
  SELECT order_id, $3, $4, $5, status, filled_quantity, reserved_amount, version,
         to_jsonb(changed.*) FROM changed),
outbox_row AS (
  INSERT INTO outbox (broker, kind, order_id, payload)
  SELECT broker, 'CANCEL', order_id,
         json_build_object('order_id', order_id, 'account_id', account_id,
                           'cancel_request', cancel_requests, 'symbol', symbol, 'side', side,
                           'quantity', quantity, 'requested_at', rfc3339(updated_at))::text
    FROM changed)
SELECT {ORDER_COLUMNS} FROM changed o)";

// $1 account_id  $2 reference  -> account columns, existing transfer
inline constexpr const char* kTransferRead = R"(
SELECT {ACCOUNT_COLUMNS}, t.kind, t.request_fingerprint, t.response
  FROM accounts a
  LEFT JOIN transfers t ON t.account_id = a.account_id AND t.reference = $2
 WHERE a.account_id = $1)";

// $1 account_id  $2 version  $3 signed amount  $4 reference  $5 kind  $6 fingerprint
// $7 response  $8 updated_at  $9 actor  $10 channel  $11 request_id
inline constexpr const char* kCashTransfer = R"(
WITH changed AS (
  UPDATE accounts SET cash_balance = cash_balance + $3::numeric, version = version + 1,
         updated_at = $8::timestamptz
   WHERE account_id = $1 AND version = $2 RETURNING *),
account_revision AS (
  INSERT INTO account_revisions (account_id, actor, channel, request_id, version, row_data)
  SELECT account_id, $9, $10, $11, version, to_jsonb(changed.*) FROM changed),
entry AS (
  INSERT INTO journal_entries (account_id, kind, reference)
  SELECT account_id, $5, $4 FROM changed RETURNING entry_id),
entry_lines AS (
  INSERT INTO journal_lines (entry_id, line_no, book, asset, amount)
  SELECT entry.entry_id, l.line_no, l.book, 'USD', l.amount
    FROM entry, (VALUES (1::smallint, 'cash.available', $3::numeric),
                        (2::smallint, 'external', -($3::numeric))) AS l(line_no, book, amount)),
transfer AS (
  INSERT INTO transfers (account_id, reference, kind, request_fingerprint, response)
  SELECT account_id, $4, $5, $6, $7 FROM changed)
SELECT version FROM changed)";

// $1 account_id  $2 reference  $3 symbol -> account exists, position, existing transfer
inline constexpr const char* kSecurityDepositRead = R"(
SELECT p.quantity, p.quantity_reserved, p.cost_basis::text, p.version,
       t.kind, t.request_fingerprint, t.response
  FROM accounts a
  LEFT JOIN positions p ON p.account_id = a.account_id AND p.symbol = $3
  LEFT JOIN transfers t ON t.account_id = a.account_id AND t.reference = $2
 WHERE a.account_id = $1)";

// $1 account_id  $2 position version (0: no row yet)  $3 symbol  $4 quantity  $5 cost
// $6 reference  $7 fingerprint  $8 response  $9 updated_at  $10 actor  $11 channel  $12 request_id
inline constexpr const char* kSecurityDeposit = R"(
WITH inserted AS (
  INSERT INTO positions (account_id, symbol, quantity, cost_basis, updated_at)
  SELECT $1, $3, $4::bigint, $5::numeric, $9::timestamptz WHERE $2::bigint = 0
  ON CONFLICT DO NOTHING RETURNING *),
updated AS (
  UPDATE positions SET quantity = quantity + $4::bigint, cost_basis = cost_basis + $5::numeric,
         version = version + 1, updated_at = $9::timestamptz
   WHERE account_id = $1 AND symbol = $3 AND version = $2::bigint AND $2::bigint <> 0
  RETURNING *),
changed AS (SELECT * FROM inserted UNION ALL SELECT * FROM updated),
position_revision AS (
  INSERT INTO position_revisions (account_id, symbol, actor, channel, request_id, version, row_data)
  SELECT account_id, symbol, $10, $11, $12, version, to_jsonb(changed.*) FROM changed),
entry AS (
  INSERT INTO journal_entries (account_id, kind, reference)
  SELECT account_id, 'SECURITY_DEPOSIT', $6 FROM changed RETURNING entry_id),
entry_lines AS (
  INSERT INTO journal_lines (entry_id, line_no, book, asset, amount)
  SELECT entry.entry_id, l.line_no, l.book, $3, l.amount
    FROM entry, (VALUES (1::smallint, 'securities.available', $4::numeric),
                        (2::smallint, 'external', -($4::numeric))) AS l(line_no, book, amount)),
transfer AS (
  INSERT INTO transfers (account_id, reference, kind, request_fingerprint, response)
  SELECT account_id, $6, 'SECURITY_DEPOSIT', $7, $8 FROM changed)
SELECT version FROM changed)";

// $1 account_id  $2 currency  $3 actor  $4 channel  $5 request_id
inline constexpr const char* kCreateAccount = R"(
WITH created AS (
  INSERT INTO accounts (account_id, currency) VALUES ($1, $2)
  ON CONFLICT DO NOTHING RETURNING *),
account_revision AS (
  INSERT INTO account_revisions (account_id, actor, channel, request_id, version, row_data)
  SELECT account_id, $3, $4, $5, version, to_jsonb(created.*) FROM created)
SELECT {ACCOUNT_COLUMNS} FROM created a)";

}  // namespace fbg::ledger::sql
