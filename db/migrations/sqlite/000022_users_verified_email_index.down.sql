DROP INDEX users_verified_email_key;
