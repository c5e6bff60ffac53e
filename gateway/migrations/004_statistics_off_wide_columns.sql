-- The event's payload is published, never filtered or sorted on: no planner statistics
-- (ledger_service/migrations/007 says why).
ALTER TABLE order_events ALTER COLUMN payload SET STATISTICS 0;
