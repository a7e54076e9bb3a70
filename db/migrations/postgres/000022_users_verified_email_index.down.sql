DROP INDEX CONCURRENTLY IF EXISTS users_verified_email_key;
