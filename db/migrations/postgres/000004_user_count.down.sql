DROP TRIGGER user_count_truncate ON users;
DROP TRIGGER user_count_delete ON users;
DROP TRIGGER user_count_insert ON users;
DROP FUNCTION user_count_reset();
DROP FUNCTION user_count_add();
DROP TABLE user_count;
