-- How a session was made (SPEC 4c): its assurance level (1: a password
-- alone; 2: with a second factor) and the methods, space-separated. Columns
-- with a constant default and no constraint: PostgreSQL changes only the
-- catalog (no rewrite, no scan); sessions from before were made with a
-- password alone, which the defaults say.
SET LOCAL lock_timeout = '5s';
ALTER TABLE sessions
    ADD COLUMN aal     smallint NOT NULL DEFAULT 1,
    ADD COLUMN methods text     NOT NULL DEFAULT 'password';
