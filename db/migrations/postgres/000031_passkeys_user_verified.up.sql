-- Whether a passkey verified its user (a PIN, biometrics) when it was
-- registered: only such a one signs in without a password (SPEC 4c), so
-- only such a one counts as a way to sign in when an account without a
-- password unlinks its last identity (SPEC 4d). Added without a rewrite
-- (a constant default); the rows there are are filled from the stored
-- credential's flags.
SET LOCAL lock_timeout = '5s';

ALTER TABLE webauthn_credentials ADD COLUMN user_verified boolean NOT NULL DEFAULT false;

UPDATE webauthn_credentials SET user_verified = true
 WHERE (credential::jsonb -> 'flags' ->> 'userVerified') = 'true';
