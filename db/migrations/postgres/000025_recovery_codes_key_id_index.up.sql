-- Which key each sealed recovery code needs (its seal's first 8 bytes), by
-- index: start-up finds the key ids in use by skipping through it (one probe
-- per key, never a read of every row), and rekey walks one key's codes in
-- order. Built without holding writes off.
CREATE INDEX CONCURRENTLY mfa_recovery_codes_key_id_idx ON mfa_recovery_codes (substr(sealed, 1, 8), user_id, digest);
