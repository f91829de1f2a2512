ALTER TABLE decisions DROP COLUMN decided_by_user_id;
DELETE FROM sessions WHERE user_id IS NOT NULL;
CREATE TABLE sessions_old (
    token_hash TEXT PRIMARY KEY,
    key_id BIGINT NOT NULL REFERENCES api_keys (id),
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
INSERT INTO sessions_old SELECT token_hash, key_id, kind, created_at, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_old RENAME TO sessions;
DROP TABLE invites;
DROP TABLE users;
