ALTER TABLE sessions DROP COLUMN methods;
ALTER TABLE sessions DROP COLUMN aal;
