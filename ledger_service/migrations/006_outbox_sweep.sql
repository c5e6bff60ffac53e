-- The outbox sweep's mark (outbox_sweeper.h): every outbox row with a relay_seq at or below it
-- was sent and is in its stream, was taken by its gateway, or was published again.
INSERT INTO consumer_cursors (name, position) VALUES ('outbox_swept', 0);
