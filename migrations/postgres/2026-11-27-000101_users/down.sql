ALTER TABLE decisions DROP COLUMN decided_by_user_id;
DELETE FROM sessions WHERE user_id IS NOT NULL;
ALTER TABLE sessions DROP CONSTRAINT sessions_one_owner;
ALTER TABLE sessions DROP COLUMN user_id;
ALTER TABLE sessions ALTER COLUMN key_id SET NOT NULL;
DROP TABLE invites;
DROP TABLE users;
