-- The report as received is evidence, never filtered or sorted on: no planner statistics, so
-- autoanalyze does not sort a sample of whole FIX messages every few seconds
-- (ledger_service/migrations/007 says why).
ALTER TABLE executions ALTER COLUMN raw_message SET STATISTICS 0;
