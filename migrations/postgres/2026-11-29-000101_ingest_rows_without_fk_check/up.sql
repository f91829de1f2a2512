-- Events and customers are written only by the ingest group transaction, which reads the
-- initiative by key and holds its row FOR SHARE until the commit (the lock a foreign-key
-- check would take), and initiatives are never deleted nor renumbered: the per-row check
-- of these two foreign keys could never fail, and it cost 40% of a 1,000-event group's
-- write (8-9 µs a row, BENCHMARKS.md, issue 15). The smaller tables keep theirs.
ALTER TABLE events DROP CONSTRAINT events_initiative_id_fkey;
ALTER TABLE customers DROP CONSTRAINT customers_initiative_id_fkey;
