-- Keyset pagination of an initiative's raw events: `initiative_id = ? AND id > ?
-- ORDER BY id LIMIT ?` reads only the page's rows from this index, in order, with no
-- sort, whatever the number of events stored.
CREATE INDEX events_initiative_seq ON events (initiative_id, id);
