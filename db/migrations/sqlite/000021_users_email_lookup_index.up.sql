-- Every lookup by address, among them the unverified claims a verification
-- clears (see the PostgreSQL migration of the same number).
CREATE INDEX users_email_lookup_idx ON users (lower(email));
