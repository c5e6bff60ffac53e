-- Columns no statement filters, joins or sorts on get no planner statistics.
--
-- Why: autovacuum analyzes the hot tables every few seconds (scripts/lib/stack.sh sets a short
-- naptime). ANALYZE sorts each column's sample to find its common values and histogram, and
-- for the revisions' row_data that meant comparing whole jsonb documents: profiled at 150
-- orders/s (docs/performance.md), autoanalyze was about 6 % of the machine's CPU, most of it in
-- jsonb_cmp. Statistics on these columns would never be read: no plan depends on them.
ALTER TABLE order_revisions ALTER COLUMN row_data SET STATISTICS 0;
ALTER TABLE account_revisions ALTER COLUMN row_data SET STATISTICS 0;
ALTER TABLE position_revisions ALTER COLUMN row_data SET STATISTICS 0;
ALTER TABLE outbox ALTER COLUMN payload SET STATISTICS 0;
