SET LOCAL lock_timeout = '5s';
ALTER TABLE mfa_recovery_codes DROP COLUMN sealed;
