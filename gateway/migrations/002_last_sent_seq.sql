-- last_sent_seq: the send_seq of the order's last message (its first NewOrderSingle, then each
-- status request or PossResend), in the order the sender put them on the session. A reply to
-- an order sent once shows the broker took every message with a lower send_seq; the retry gate
-- (gateway/src/domain/broker_progress.h) holds back the timeouts of the others. NULL: never sent (or
-- sent before this column existed, which the gate reads as 0).
ALTER TABLE broker_orders ADD COLUMN last_sent_seq bigint;
