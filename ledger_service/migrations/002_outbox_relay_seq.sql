-- outbox.id comes from a sequence at INSERT time, and concurrent transactions commit out of id
-- order: a row with a smaller id can become visible after a larger one was already relayed. So
-- the stream id cannot be outbox.id. The relay (one at a time, under an advisory lock) numbers
-- rows itself when it first sees them committed; relay_seq only grows, and is the stream id.
ALTER TABLE outbox ADD COLUMN relay_seq bigint;
CREATE UNIQUE INDEX outbox_by_relay_seq ON outbox (relay_seq);
