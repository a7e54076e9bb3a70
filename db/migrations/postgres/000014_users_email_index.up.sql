-- Email addresses are unique regardless of case (they are ASCII: see
-- user.CheckEmail), and found by address for recovery. Built without
-- holding writes off; NULLs (no address) do not collide.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_lower_key ON users (lower(email));
