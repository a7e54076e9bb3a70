DROP INDEX users_email_lookup_idx;
