SET LOCAL lock_timeout = '5s';
ALTER TABLE sessions
    DROP COLUMN ip,
    DROP COLUMN user_agent,
    DROP COLUMN public_id;
