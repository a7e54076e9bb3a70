-- A user's optional email address, stored as typed, and when a message sent
-- to it proved it (SPEC 4b). SQLite adds a nullable column by changing the
-- schema only.
ALTER TABLE users ADD COLUMN email TEXT CHECK (length(CAST(email AS BLOB)) <= 254);
ALTER TABLE users ADD COLUMN email_verified_at TEXT;
-- Unique regardless of case (addresses are ASCII: see user.CheckEmail).
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
