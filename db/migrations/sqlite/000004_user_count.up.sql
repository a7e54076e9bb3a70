-- The number of users, kept by triggers so that GET /api/v1/users reads an
-- exact total in O(1), whoever writes the rows. The migration runs in one
-- write transaction: nothing is written between the count and the triggers.
CREATE TABLE user_count (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    n        INTEGER NOT NULL CHECK (n >= 0)
) STRICT;

INSERT INTO user_count (only_row, n) SELECT 1, count(*) FROM users;

CREATE TRIGGER user_count_insert AFTER INSERT ON users
BEGIN
    UPDATE user_count SET n = n + 1;
END;

CREATE TRIGGER user_count_delete AFTER DELETE ON users
BEGIN
    UPDATE user_count SET n = n - 1;
END;
