-- A writer may belong to several teams: one row per (user, team). Admins and viewers have
-- none. The single `users.team` column moves here.
CREATE TABLE user_teams (
    user_id BIGINT NOT NULL REFERENCES users (id),
    team TEXT NOT NULL,
    PRIMARY KEY (user_id, team)
);
INSERT INTO user_teams (user_id, team)
    SELECT id, team FROM users WHERE team IS NOT NULL;
ALTER TABLE users DROP COLUMN team;
