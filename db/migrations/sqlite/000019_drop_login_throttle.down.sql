CREATE TABLE login_throttle (
    key          TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL CHECK (failures > 0),
    window_start TEXT    NOT NULL
) STRICT;

CREATE INDEX login_throttle_window_start_idx ON login_throttle (window_start);
