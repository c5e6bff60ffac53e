-- stream_entry_id: the order-events entry each row was published as. Redis assigns it (several
-- gateways write the stream), so the relay keeps it; the event sweep (event_sweeper.h) asks the
-- stream for it. NULL for rows published before this column: the sweep passes them.
ALTER TABLE order_events ADD COLUMN stream_entry_id text;

-- The event sweep's mark: every row with a relay_seq at or below it was checked.
CREATE TABLE event_sweep_mark (position bigint NOT NULL);
INSERT INTO event_sweep_mark (position) VALUES (0);

-- The sweep reads rows in relay_seq order from its mark.
CREATE INDEX order_events_by_relay_seq ON order_events (relay_seq);
