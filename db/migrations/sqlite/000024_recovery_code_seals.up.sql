-- Recovery codes a change of key can move (see the PostgreSQL migration of
-- the same number). SQLite adds a nullable column by changing the schema
-- only.
ALTER TABLE mfa_recovery_codes ADD COLUMN sealed BLOB;
