DROP TRIGGER IF EXISTS webauthn_credentials_second_factor_delete;
DROP TRIGGER IF EXISTS webauthn_credentials_second_factor_insert;
DROP TRIGGER IF EXISTS mfa_totp_second_factor_delete;
DROP TRIGGER IF EXISTS mfa_totp_second_factor_update;
DROP TRIGGER IF EXISTS mfa_totp_second_factor_insert;
ALTER TABLE users DROP COLUMN second_factor;
