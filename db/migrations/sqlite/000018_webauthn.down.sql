DROP TABLE webauthn_challenges;
DROP TABLE webauthn_credentials;
DROP TABLE webauthn_users;
