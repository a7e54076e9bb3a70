ALTER TABLE pending_logins DROP COLUMN method;
DROP TABLE oauth_flows;
DROP TABLE identities;
