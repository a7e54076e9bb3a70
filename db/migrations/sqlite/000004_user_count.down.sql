DROP TRIGGER user_count_delete;
DROP TRIGGER user_count_insert;
DROP TABLE user_count;
