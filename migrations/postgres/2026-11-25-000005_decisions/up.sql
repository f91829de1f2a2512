-- The decision log: every decision on an initiative, append-only, with who took it and
-- what the evidence said at that moment (`snapshot`: JSON of the verdict, counts, rate
-- and the interval the verdict read). `against_evidence`: decided before min_exposures
-- or against the verdict; `override_reason` says why.
CREATE TABLE decisions (
    id BIGSERIAL PRIMARY KEY,
    initiative_id BIGINT NOT NULL REFERENCES initiatives (id),
    decision TEXT NOT NULL,
    note TEXT NOT NULL,
    override_reason TEXT,
    against_evidence BOOLEAN NOT NULL,
    verdict TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_by_key_id BIGINT REFERENCES api_keys (id),
    decided_at TIMESTAMP NOT NULL
);
CREATE INDEX decisions_initiative ON decisions (initiative_id, id);

-- Append-only: a recorded decision is never changed or removed.
CREATE FUNCTION decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the decision log is append-only';
END;
$$;
CREATE TRIGGER decisions_no_change BEFORE UPDATE OR DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION decisions_append_only();
