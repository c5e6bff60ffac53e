-- rfc3339() was declared IMMUTABLE, but to_char() is only STABLE, so PostgreSQL would not
-- inline it: every call ran as a SQL function of its own, planned for each statement that used
-- it (about 44 us a call, measured in the ledger).
-- Declared STABLE, the planner replaces the call by its body.
ALTER FUNCTION rfc3339(timestamptz) STABLE;
