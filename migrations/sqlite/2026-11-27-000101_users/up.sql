-- People: sign in with an email and a password (Argon2id PHC string; NULL until the
-- invite is accepted). Role and team as for API keys. A disabled user cannot sign in.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    team TEXT,
    password_hash TEXT,
    created_at TIMESTAMP NOT NULL,
    disabled_at TIMESTAMP
);

-- One-time invite links: only a SHA-256 of the token is stored.
CREATE TABLE invites (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX invites_user ON invites (user_id);

-- A session belongs to an API key (key sign-in) or to a user.
CREATE TABLE sessions_new (
    token_hash TEXT PRIMARY KEY,
    key_id BIGINT REFERENCES api_keys (id),
    user_id BIGINT REFERENCES users (id),
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    CHECK ((key_id IS NULL) <> (user_id IS NULL))
);
INSERT INTO sessions_new (token_hash, key_id, kind, created_at, expires_at)
    SELECT token_hash, key_id, kind, created_at, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id);

-- Who decided, when a person (not a key) did.
ALTER TABLE decisions ADD COLUMN decided_by_user_id BIGINT REFERENCES users (id);
