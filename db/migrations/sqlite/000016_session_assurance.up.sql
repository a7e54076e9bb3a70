-- How a session was made (see the PostgreSQL migration of the same number).
ALTER TABLE sessions ADD COLUMN aal INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN methods TEXT NOT NULL DEFAULT 'password';
