-- Package-version change events (transactional outbox).
--
-- Triggers record every change to a version or its assets in
-- event_staging; DB.tx turns the staged rows into one outbox row per
-- version (with CodeArtifact's change counts and the package's next
-- sequence number) before it commits, so an event exists exactly when its
-- change does. The relay publishes unsent outbox rows to NATS and marks
-- them sent.

ALTER TABLE packages ADD COLUMN seq_next INTEGER NOT NULL DEFAULT 0;

CREATE TABLE event_staging (
    version_id       INTEGER PRIMARY KEY,
    package_id       INTEGER NOT NULL,
    version          TEXT NOT NULL,
    status           TEXT NOT NULL,
    revision         TEXT NOT NULL,
    op               TEXT NOT NULL,          -- Created | Updated | Deleted
    assets_added     INTEGER NOT NULL DEFAULT 0,
    assets_removed   INTEGER NOT NULL DEFAULT 0,
    metadata_updated INTEGER NOT NULL DEFAULT 0,
    status_changed   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    dedup_id   TEXT NOT NULL UNIQUE,
    subject    TEXT NOT NULL,
    resource   TEXT NOT NULL,   -- package path domain/repo/format/namespace/name, for the ARN
    detail     TEXT NOT NULL,   -- CodeArtifact's event detail, JSON
    created_at INTEGER NOT NULL,
    sent_at    INTEGER
);
CREATE INDEX events_unsent ON events(id) WHERE sent_at IS NULL;

CREATE TRIGGER stage_version_insert AFTER INSERT ON package_versions BEGIN
    INSERT INTO event_staging(version_id, package_id, version, status, revision, op, metadata_updated, status_changed)
    VALUES (NEW.id, NEW.package_id, NEW.version, NEW.status, NEW.revision, 'Created', 1, 1)
    ON CONFLICT(version_id) DO UPDATE SET status = NEW.status, revision = NEW.revision;
END;

CREATE TRIGGER stage_version_update AFTER UPDATE ON package_versions
WHEN OLD.status != NEW.status OR OLD.revision != NEW.revision OR OLD.metadata != NEW.metadata BEGIN
    INSERT INTO event_staging(version_id, package_id, version, status, revision, op, metadata_updated, status_changed)
    VALUES (NEW.id, NEW.package_id, NEW.version, NEW.status, NEW.revision, 'Updated',
            OLD.metadata != NEW.metadata, OLD.status != NEW.status)
    ON CONFLICT(version_id) DO UPDATE SET status = NEW.status, revision = NEW.revision,
        metadata_updated = metadata_updated OR (OLD.metadata != NEW.metadata),
        status_changed = status_changed OR (OLD.status != NEW.status);
END;

CREATE TRIGGER stage_version_delete AFTER DELETE ON package_versions BEGIN
    INSERT INTO event_staging(version_id, package_id, version, status, revision, op, status_changed)
    VALUES (OLD.id, OLD.package_id, OLD.version, 'Deleted', OLD.revision, 'Deleted', 1)
    ON CONFLICT(version_id) DO UPDATE SET op = 'Deleted', status = 'Deleted', status_changed = 1;
END;

CREATE TRIGGER stage_asset_insert AFTER INSERT ON assets BEGIN
    INSERT INTO event_staging(version_id, package_id, version, status, revision, op, assets_added)
    SELECT v.id, v.package_id, v.version, v.status, v.revision, 'Updated', 1 FROM package_versions v WHERE v.id = NEW.version_id
    ON CONFLICT(version_id) DO UPDATE SET assets_added = assets_added + 1;
END;

CREATE TRIGGER stage_asset_delete AFTER DELETE ON assets BEGIN
    INSERT INTO event_staging(version_id, package_id, version, status, revision, op, assets_removed)
    SELECT v.id, v.package_id, v.version, v.status, v.revision, 'Updated', 1 FROM package_versions v WHERE v.id = OLD.version_id
    ON CONFLICT(version_id) DO UPDATE SET assets_removed = assets_removed + 1;
END;
