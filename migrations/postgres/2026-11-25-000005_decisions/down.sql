DROP TRIGGER decisions_no_change ON decisions;
DROP FUNCTION decisions_append_only();
DROP TABLE decisions;
