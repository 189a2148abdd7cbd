-- The outbox of state-change events (internal/events/outbox.Schema):
-- written in the transaction of the change, deleted once published.
CREATE TABLE events (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  subject  TEXT NOT NULL,
  dedup_id TEXT NOT NULL,
  data     BLOB NOT NULL,
  created  INTEGER NOT NULL
);
