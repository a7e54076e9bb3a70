-- login_throttle was replaced by attempt_windows (000012), which erased it;
-- no release since reads or writes it, so no replica of a rolling deploy
-- does: it goes. Only this unused table is locked.
SET LOCAL lock_timeout = '5s';
DROP TABLE IF EXISTS login_throttle;
