-- Back to one team per user: a writer keeps the first of their teams (by name).
ALTER TABLE users ADD COLUMN team TEXT;
UPDATE users SET team = (SELECT MIN(team) FROM user_teams WHERE user_teams.user_id = users.id);
DROP TABLE user_teams;
