-- Attempts per key in a fixed window that starts at the first attempt
-- (see the PostgreSQL migration of the same number).
CREATE TABLE attempt_windows (
    key          TEXT    PRIMARY KEY,
    attempts     INTEGER NOT NULL CHECK (attempts >= 0),
    window_start TEXT    NOT NULL
) STRICT;

CREATE INDEX attempt_windows_window_start_idx ON attempt_windows (window_start);

-- login_throttle holds typed usernames in the clear: erased here, dropped by
-- the release after this one.
DELETE FROM login_throttle;
