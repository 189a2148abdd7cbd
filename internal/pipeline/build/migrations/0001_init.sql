-- Builds, version 1. Times are unix milliseconds (UTC). Projects and
-- builds are JSON documents (build.Project, build.Build) with the columns
-- queries need beside them.

CREATE TABLE projects (
    name        TEXT PRIMARY KEY,
    doc         TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL
);

-- Build numbers per project name; kept when a project is deleted so a
-- re-created project does not reuse numbers.
CREATE TABLE counters (
    project TEXT PRIMARY KEY,
    last    INTEGER NOT NULL
);

CREATE TABLE builds (
    id       TEXT PRIMARY KEY,                 -- project:uuid
    project  TEXT NOT NULL,
    number   INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0,
    doc      TEXT NOT NULL
);
CREATE INDEX builds_by_project ON builds(project, start_ms);
CREATE INDEX builds_by_start ON builds(start_ms);
CREATE INDEX builds_incomplete ON builds(complete) WHERE complete = 0;
