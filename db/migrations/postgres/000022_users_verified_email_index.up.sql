-- Addresses are unique among verified addresses only (SPEC 4b): two
-- accounts may claim one address while neither has proved it, never once
-- one has. Built without holding writes off; every verified address is
-- unique already (users_email_lower_key holds every address), so the build
-- cannot fail on the data. 000023 drops the old index.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_verified_email_key ON users (lower(email)) WHERE email_verified_at IS NOT NULL;
