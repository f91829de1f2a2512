ALTER TABLE aggregate_cells DROP CONSTRAINT aggregate_cells_key;
UPDATE aggregate_cells SET sentiment = '' WHERE sentiment IS NULL;
ALTER TABLE aggregate_cells ALTER COLUMN sentiment SET NOT NULL;
ALTER TABLE aggregate_cells ADD PRIMARY KEY (initiative_id, segment, variant, sentiment, preordered);
