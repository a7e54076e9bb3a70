-- Which key each sealed recovery code needs (see the PostgreSQL migration of
-- the same number).
CREATE INDEX mfa_recovery_codes_key_id_idx ON mfa_recovery_codes (substr(sealed, 1, 8), user_id, digest);
