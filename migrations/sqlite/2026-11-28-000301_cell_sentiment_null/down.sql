CREATE TABLE aggregate_cells_old (
    initiative_id BIGINT NOT NULL REFERENCES initiatives (id),
    segment TEXT NOT NULL,
    variant TEXT NOT NULL,
    sentiment TEXT NOT NULL,
    preordered BOOLEAN NOT NULL,
    customers BIGINT NOT NULL,
    cancelled BIGINT NOT NULL,
    revenue_cents BIGINT NOT NULL,
    revenue_sq_cents DOUBLE NOT NULL,
    money_down BIGINT NOT NULL DEFAULT 0,
    paid BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (initiative_id, segment, variant, sentiment, preordered)
) WITHOUT ROWID;

INSERT INTO aggregate_cells_old (initiative_id, segment, variant, sentiment, preordered,
    customers, cancelled, revenue_cents, revenue_sq_cents, money_down, paid)
SELECT initiative_id, segment, variant, COALESCE(sentiment, ''), preordered,
    customers, cancelled, revenue_cents, revenue_sq_cents, money_down, paid
FROM aggregate_cells;

DROP TABLE aggregate_cells;
ALTER TABLE aggregate_cells_old RENAME TO aggregate_cells;
