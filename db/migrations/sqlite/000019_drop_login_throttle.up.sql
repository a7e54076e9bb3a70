-- login_throttle was replaced by attempt_windows (see the PostgreSQL
-- migration of the same number).
DROP TABLE IF EXISTS login_throttle;
