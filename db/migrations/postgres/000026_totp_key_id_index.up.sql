-- Which key each TOTP secret needs (its first 8 bytes), by index, as for
-- recovery codes in 000025. Built without holding writes off.
CREATE INDEX CONCURRENTLY mfa_totp_key_id_idx ON mfa_totp (substr(secret, 1, 8), user_id);
