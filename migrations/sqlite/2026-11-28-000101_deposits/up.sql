-- Pre-registered amount floors (null: the default), backfill start, and the kind of a pre-order
-- (null on every other event; pre-orders stored before kinds existed were full ones).
ALTER TABLE initiatives ADD COLUMN min_full_cents BIGINT;
ALTER TABLE initiatives ADD COLUMN min_deposit_cents BIGINT;
ALTER TABLE initiatives ADD COLUMN backfill_from TIMESTAMP;
ALTER TABLE events ADD COLUMN preorder_kind TEXT;
UPDATE events SET preorder_kind = 'full' WHERE event_type = 'preorder';

-- Follow-through: whether a customer ever put money down (a deposit or a pre-order) and
-- whether they paid in full, and per aggregate cell how many customers did each. A
-- customer with money down before this migration is one with an active pre-order or
-- one who withdrew (a withdrawal needs money down first).
ALTER TABLE customers ADD COLUMN money_down BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE customers ADD COLUMN paid BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE customers SET money_down = (active_cents > 0 OR cancelled);
ALTER TABLE aggregate_cells ADD COLUMN money_down BIGINT NOT NULL DEFAULT 0;
ALTER TABLE aggregate_cells ADD COLUMN paid BIGINT NOT NULL DEFAULT 0;
UPDATE aggregate_cells SET money_down = CASE WHEN preordered THEN customers ELSE cancelled END;
