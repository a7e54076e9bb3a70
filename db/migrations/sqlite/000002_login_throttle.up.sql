-- Failed logins per key ("user:<lower-case name>" or "ip:<address>") in a
-- fixed window that starts at the first failure. Kept in the database so the
-- limit holds across replicas.
CREATE TABLE login_throttle (
    key          TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL CHECK (failures > 0),
    window_start TEXT    NOT NULL
) STRICT;

CREATE INDEX login_throttle_window_start_idx ON login_throttle (window_start);
