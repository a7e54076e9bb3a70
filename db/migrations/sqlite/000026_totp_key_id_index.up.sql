-- Which key each TOTP secret needs (see the PostgreSQL migration of the same
-- number).
CREATE INDEX mfa_totp_key_id_idx ON mfa_totp (substr(secret, 1, 8), user_id);
