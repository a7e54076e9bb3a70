DROP INDEX CONCURRENTLY IF EXISTS users_email_lookup_idx;
