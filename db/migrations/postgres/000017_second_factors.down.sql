DROP TABLE pending_logins;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
