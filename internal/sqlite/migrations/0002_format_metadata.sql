-- Format publishing: a per-package revision (bumped in the same
-- transaction as every change to the package, its versions or its tags, so
-- rendered documents can be cached by it) and declared dependencies.

ALTER TABLE packages ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;

CREATE TABLE dependencies (
    version_id          INTEGER NOT NULL REFERENCES package_versions(id) ON DELETE CASCADE,
    position            INTEGER NOT NULL,
    namespace           TEXT NOT NULL DEFAULT '',
    name                TEXT NOT NULL,
    dependency_type     TEXT NOT NULL,
    version_requirement TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (version_id, position)
);
