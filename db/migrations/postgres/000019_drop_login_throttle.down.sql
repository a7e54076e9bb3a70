CREATE TABLE login_throttle (
    key          text        PRIMARY KEY,
    failures     integer     NOT NULL CHECK (failures > 0),
    window_start timestamptz NOT NULL
);
CREATE INDEX login_throttle_window_start_idx ON login_throttle (window_start);
