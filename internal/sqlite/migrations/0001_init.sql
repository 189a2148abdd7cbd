-- Registry metadata, version 1. Times are unix milliseconds (UTC).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Identity --------------------------------------------------------------

CREATE TABLE principals (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,          -- IAM user name; "root" for the root principal
    user_id    TEXT NOT NULL UNIQUE,          -- AIDA... style id
    path       TEXT NOT NULL DEFAULT '/',
    is_root    INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE access_keys (
    id           TEXT PRIMARY KEY,             -- AKIA...
    principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    secret       TEXT NOT NULL,                -- SigV4 needs the secret itself
    status       TEXT NOT NULL DEFAULT 'Active',
    created_at   INTEGER NOT NULL
);
CREATE INDEX access_keys_principal ON access_keys(principal_id);

CREATE TABLE user_policies (
    principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    document     TEXT NOT NULL,
    PRIMARY KEY (principal_id, name)
);

-- Registry ----------------------------------------------------------------

CREATE TABLE domains (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    encryption_key  TEXT NOT NULL DEFAULT '',
    policy          TEXT,
    policy_revision TEXT,
    created_at      INTEGER NOT NULL
);

CREATE TABLE tokens (
    hash         TEXT PRIMARY KEY,             -- hex sha256 of the token; the token itself is never stored
    principal_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    domain_id    INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX tokens_expiry ON tokens(expires_at);

CREATE TABLE repositories (
    id                  INTEGER PRIMARY KEY,
    domain_id           INTEGER NOT NULL REFERENCES domains(id),
    name                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    administrator       TEXT NOT NULL,
    external_connection TEXT NOT NULL DEFAULT '',
    policy              TEXT,
    policy_revision     TEXT,
    created_at          INTEGER NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE upstreams (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    upstream_id   INTEGER NOT NULL REFERENCES repositories(id),
    PRIMARY KEY (repository_id, position),
    UNIQUE (repository_id, upstream_id)
);
CREATE INDEX upstreams_upstream ON upstreams(upstream_id);

CREATE TABLE packages (
    id            INTEGER PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    format        TEXT NOT NULL,
    namespace     TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL,
    publish       TEXT NOT NULL DEFAULT 'ALLOW',
    upstream      TEXT NOT NULL DEFAULT 'BLOCK',
    seq           INTEGER NOT NULL DEFAULT 0,  -- last event sequence number of this package
    UNIQUE (repository_id, format, namespace, name)
);

CREATE TABLE package_versions (
    id                     INTEGER PRIMARY KEY,
    package_id             INTEGER NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
    version                TEXT NOT NULL,
    status                 TEXT NOT NULL,
    revision               TEXT NOT NULL,
    display_name           TEXT NOT NULL DEFAULT '',
    summary                TEXT NOT NULL DEFAULT '',
    home_page              TEXT NOT NULL DEFAULT '',
    source_code_repository TEXT NOT NULL DEFAULT '',
    licenses               TEXT NOT NULL DEFAULT '[]',   -- JSON [{"name","url"}]
    readme                 TEXT NOT NULL DEFAULT '',
    metadata               TEXT NOT NULL DEFAULT '{}',   -- format-specific JSON
    origin_type            TEXT NOT NULL DEFAULT 'INTERNAL',
    origin_repository      TEXT NOT NULL DEFAULT '',
    origin_external        TEXT NOT NULL DEFAULT '',
    published_at           INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    UNIQUE (package_id, version)
);

-- Every committed blob the metadata knows of. Rows are written in the same
-- transaction as the first asset that references them.
CREATE TABLE blobs (
    sha256     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    md5        TEXT NOT NULL,
    sha1       TEXT NOT NULL,
    sha512     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE assets (
    id         INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES package_versions(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    sha256     TEXT NOT NULL REFERENCES blobs(sha256),
    created_at INTEGER NOT NULL,
    UNIQUE (version_id, name)
);
CREATE INDEX assets_blob ON assets(sha256);

CREATE TABLE dist_tags (
    package_id INTEGER NOT NULL REFERENCES packages(id) ON DELETE CASCADE,
    tag        TEXT NOT NULL,
    version    TEXT NOT NULL,
    PRIMARY KEY (package_id, tag)
);

CREATE TABLE resource_tags (
    arn   TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
