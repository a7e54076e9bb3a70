-- Addresses are unique among verified addresses only (see the PostgreSQL
-- migration of the same number).
CREATE UNIQUE INDEX users_verified_email_key ON users (lower(email)) WHERE email_verified_at IS NOT NULL;
