ALTER TABLE aggregate_cells DROP COLUMN paid;
ALTER TABLE aggregate_cells DROP COLUMN money_down;
ALTER TABLE customers DROP COLUMN paid;
ALTER TABLE customers DROP COLUMN money_down;
ALTER TABLE events DROP COLUMN preorder_kind;
ALTER TABLE initiatives DROP COLUMN backfill_from;
ALTER TABLE initiatives DROP COLUMN min_deposit_cents;
ALTER TABLE initiatives DROP COLUMN min_full_cents;
