ALTER TABLE webauthn_credentials DROP COLUMN IF EXISTS user_verified;
