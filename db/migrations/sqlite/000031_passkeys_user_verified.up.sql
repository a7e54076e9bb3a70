-- Whether a passkey verified its user when it was registered (see the
-- PostgreSQL migration of the same number).
ALTER TABLE webauthn_credentials ADD COLUMN user_verified INTEGER NOT NULL DEFAULT 0;

UPDATE webauthn_credentials SET user_verified = 1
 WHERE json_extract(credential, '$.flags.userVerified') = 1;
