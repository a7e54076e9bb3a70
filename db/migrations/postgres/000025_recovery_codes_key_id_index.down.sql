DROP INDEX CONCURRENTLY IF EXISTS mfa_recovery_codes_key_id_idx;
