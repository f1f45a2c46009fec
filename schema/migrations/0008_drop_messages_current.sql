-- messages_current (0002) is replaced by messages_state and message_times
-- (0006, filled by 0007): nothing reads it any more.
DROP VIEW IF EXISTS {db}.messages_current_mv;

DROP TABLE IF EXISTS {db}.messages_current;
