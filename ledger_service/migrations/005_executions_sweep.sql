-- The executions sweep's mark (executions_sweeper.h): every fill receiver report with a seq at
-- or below it is in the ledger, or has nothing to apply here. It starts at 0, so a ledger that
-- gains the sweep checks its whole history once.
INSERT INTO consumer_cursors (name, position) VALUES ('executions_swept', 0);
