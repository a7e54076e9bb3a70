ALTER TABLE users DROP CONSTRAINT users_email_length, DROP COLUMN email_verified_at, DROP COLUMN email;
