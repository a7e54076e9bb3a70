-- Attempts per key in a fixed window that starts at the first attempt:
-- password attempts per username ("user:" and a keyed hash of the folded
-- name: a typed name is never stored) and per client ("ip:" and an IPv4
-- address or an IPv6 /64), signups per client ("signup:ip:..."). An attempt
-- is counted before it is made and given back when it succeeds, so the
-- count may fall to 0. Kept in the database so a limit holds across
-- replicas. A new, empty table: no lock on anything that serves.
CREATE TABLE attempt_windows (
    key          text        PRIMARY KEY,
    attempts     integer     NOT NULL CHECK (attempts >= 0),
    window_start timestamptz NOT NULL
);

CREATE INDEX attempt_windows_window_start_idx ON attempt_windows (window_start);

-- login_throttle holds typed usernames in the clear (and passwords typed
-- into the username field): erased here. Replicas of the previous release
-- still write it until they are replaced; the release after this one drops it.
DELETE FROM login_throttle;
