-- No sentinel strings: a cell whose customers have not responded has sentiment NULL
-- (it was ''). A primary key cannot hold a NULL, so the key becomes a unique constraint
-- in which NULLs are not distinct (PostgreSQL 15): one cell per key, and
-- `ON CONFLICT (initiative_id, segment, variant, sentiment, preordered)` still finds it.
-- (events.sentiment and customers.sentiment were always NULL for "none".)
ALTER TABLE aggregate_cells DROP CONSTRAINT aggregate_cells_pkey;
ALTER TABLE aggregate_cells ALTER COLUMN sentiment DROP NOT NULL;
UPDATE aggregate_cells SET sentiment = NULL WHERE sentiment = '';
ALTER TABLE aggregate_cells ADD CONSTRAINT aggregate_cells_key
    UNIQUE NULLS NOT DISTINCT (initiative_id, segment, variant, sentiment, preordered);
