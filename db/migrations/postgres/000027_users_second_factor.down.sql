DROP TRIGGER IF EXISTS webauthn_credentials_second_factor ON webauthn_credentials;
DROP TRIGGER IF EXISTS mfa_totp_second_factor ON mfa_totp;
DROP FUNCTION IF EXISTS users_second_factor();
ALTER TABLE users DROP COLUMN IF EXISTS second_factor;
