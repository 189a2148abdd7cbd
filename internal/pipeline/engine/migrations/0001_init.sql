-- Pipeline state: structures (one row per version), executions, their
-- stages and action runs, artifacts and variables. Times are Unix
-- milliseconds.

CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- counters.seq orders executions, stage entries and waiters.
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters(name, value) VALUES ('seq', 0);

CREATE TABLE pipelines (
  name    TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  tags    TEXT NOT NULL DEFAULT '[]',
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
);

CREATE TABLE pipeline_versions (
  pipeline    TEXT NOT NULL REFERENCES pipelines(name) ON DELETE CASCADE,
  version     INTEGER NOT NULL,
  declaration TEXT NOT NULL,
  created     INTEGER NOT NULL,
  PRIMARY KEY (pipeline, version)
);

-- A disabled transition has a row with enabled = 0; direction is
-- 'Inbound' or 'Outbound'.
CREATE TABLE transitions (
  pipeline   TEXT NOT NULL REFERENCES pipelines(name) ON DELETE CASCADE,
  stage      TEXT NOT NULL,
  direction  TEXT NOT NULL,
  enabled    INTEGER NOT NULL,
  reason     TEXT NOT NULL DEFAULT '',
  changed_by TEXT NOT NULL DEFAULT '',
  changed_at INTEGER NOT NULL,
  PRIMARY KEY (pipeline, stage, direction)
);

-- An active execution (InProgress, Stopping) is either waiting to enter
-- stage stage_index (waiting = 1, ordered among waiters by wait_seq) or
-- inside it (waiting = 0).
CREATE TABLE executions (
  id             TEXT PRIMARY KEY,
  seq            INTEGER NOT NULL UNIQUE,
  pipeline       TEXT NOT NULL REFERENCES pipelines(name) ON DELETE CASCADE,
  version        INTEGER NOT NULL,
  mode           TEXT NOT NULL,
  status         TEXT NOT NULL,
  summary        TEXT NOT NULL DEFAULT '',
  trigger_type   TEXT NOT NULL,
  trigger_detail TEXT NOT NULL DEFAULT '',
  variables      TEXT NOT NULL DEFAULT '[]',
  source         TEXT NOT NULL DEFAULT '{}',
  client_token   TEXT NOT NULL DEFAULT '',
  stage_index    INTEGER NOT NULL DEFAULT 0,
  waiting        INTEGER NOT NULL DEFAULT 1,
  wait_seq       INTEGER NOT NULL DEFAULT 0,
  stop_mode      TEXT NOT NULL DEFAULT '',
  stop_reason    TEXT NOT NULL DEFAULT '',
  started        INTEGER NOT NULL,
  updated        INTEGER NOT NULL
);
CREATE INDEX executions_by_pipeline ON executions(pipeline, seq);
CREATE INDEX executions_active ON executions(status) WHERE status IN ('InProgress', 'Stopping');

CREATE TABLE stage_executions (
  execution_id TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
  stage        TEXT NOT NULL,
  status       TEXT NOT NULL,
  entered_seq  INTEGER NOT NULL,
  attempt      INTEGER NOT NULL DEFAULT 1, -- retries bump it
  base_attempt INTEGER NOT NULL DEFAULT 1, -- action runs of older attempts are ignored
  started      INTEGER NOT NULL,
  updated      INTEGER NOT NULL,
  PRIMARY KEY (execution_id, stage)
);
CREATE INDEX stage_executions_entered ON stage_executions(stage, entered_seq);

-- One row per run of an action; n orders them for listing.
CREATE TABLE action_executions (
  n             INTEGER PRIMARY KEY AUTOINCREMENT,
  id            TEXT NOT NULL UNIQUE,
  execution_id  TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
  pipeline      TEXT NOT NULL,
  version       INTEGER NOT NULL,
  stage         TEXT NOT NULL,
  action        TEXT NOT NULL,
  run_order     INTEGER NOT NULL,
  attempt       INTEGER NOT NULL,
  status        TEXT NOT NULL,
  summary       TEXT NOT NULL DEFAULT '',
  token         TEXT NOT NULL DEFAULT '',
  external_id   TEXT NOT NULL DEFAULT '',
  external_url  TEXT NOT NULL DEFAULT '',
  error_code    TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  updated_by    TEXT NOT NULL DEFAULT '',
  input         TEXT NOT NULL DEFAULT '{}',
  output        TEXT NOT NULL DEFAULT '{}',
  deadline      INTEGER NOT NULL DEFAULT 0,
  started       INTEGER NOT NULL,
  updated       INTEGER NOT NULL
);
CREATE INDEX action_executions_by_execution ON action_executions(execution_id, stage, action, n);
CREATE INDEX action_executions_by_pipeline ON action_executions(pipeline, n);
CREATE INDEX action_executions_running ON action_executions(status) WHERE status = 'InProgress';

-- The artifacts of an execution by name (retried actions overwrite).
CREATE TABLE artifacts (
  execution_id TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  digest       TEXT NOT NULL,
  size         INTEGER NOT NULL,
  PRIMARY KEY (execution_id, name)
);
CREATE INDEX artifacts_digest ON artifacts(digest);

-- Output variables of actions with a namespace.
CREATE TABLE variables (
  execution_id TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
  namespace    TEXT NOT NULL,
  name         TEXT NOT NULL,
  value        TEXT NOT NULL,
  PRIMARY KEY (execution_id, namespace, name)
);

-- Package events already turned into executions (at-least-once delivery
-- must not start a pipeline twice).
CREATE TABLE trigger_events (
  pipeline     TEXT NOT NULL REFERENCES pipelines(name) ON DELETE CASCADE,
  dedup_id     TEXT NOT NULL,
  execution_id TEXT NOT NULL,
  received     INTEGER NOT NULL,
  PRIMARY KEY (pipeline, dedup_id)
);
