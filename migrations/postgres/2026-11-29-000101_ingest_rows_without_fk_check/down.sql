ALTER TABLE events ADD CONSTRAINT events_initiative_id_fkey
    FOREIGN KEY (initiative_id) REFERENCES initiatives (id);
ALTER TABLE customers ADD CONSTRAINT customers_initiative_id_fkey
    FOREIGN KEY (initiative_id) REFERENCES initiatives (id);
