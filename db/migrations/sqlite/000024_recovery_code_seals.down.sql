ALTER TABLE mfa_recovery_codes DROP COLUMN sealed;
