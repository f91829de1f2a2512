-- No sentinel strings: a cell whose customers have not responded has sentiment NULL
-- (it was ''). SQLite cannot change a primary key, so the table is rebuilt. Its key
-- stays unique with two indexes, because NULLs are distinct in a unique index: the
-- full index for cells with a sentiment, a partial one for cells without.
-- (events.sentiment and customers.sentiment were always NULL for "none".)
CREATE TABLE aggregate_cells_new (
    initiative_id BIGINT NOT NULL REFERENCES initiatives (id),
    segment TEXT NOT NULL,
    variant TEXT NOT NULL,
    sentiment TEXT,
    preordered BOOLEAN NOT NULL,
    customers BIGINT NOT NULL,
    cancelled BIGINT NOT NULL,
    revenue_cents BIGINT NOT NULL,
    revenue_sq_cents DOUBLE NOT NULL,
    money_down BIGINT NOT NULL DEFAULT 0,
    paid BIGINT NOT NULL DEFAULT 0
);

INSERT INTO aggregate_cells_new (initiative_id, segment, variant, sentiment, preordered,
    customers, cancelled, revenue_cents, revenue_sq_cents, money_down, paid)
SELECT initiative_id, segment, variant, NULLIF(sentiment, ''), preordered,
    customers, cancelled, revenue_cents, revenue_sq_cents, money_down, paid
FROM aggregate_cells;

DROP TABLE aggregate_cells;
ALTER TABLE aggregate_cells_new RENAME TO aggregate_cells;

CREATE UNIQUE INDEX aggregate_cells_key
    ON aggregate_cells (initiative_id, segment, variant, sentiment, preordered);
CREATE UNIQUE INDEX aggregate_cells_key_no_sentiment
    ON aggregate_cells (initiative_id, segment, variant, preordered)
    WHERE sentiment IS NULL;
