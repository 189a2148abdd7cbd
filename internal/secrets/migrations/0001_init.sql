-- Secret store, version 1. Times are unix milliseconds (UTC). Every value
-- column holds nonce || AES-256-GCM ciphertext, never plaintext.

CREATE TABLE parameters (
    name        TEXT PRIMARY KEY,
    type        TEXT NOT NULL,               -- String | StringList | SecureString
    value       BLOB NOT NULL,
    version     INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    data_type   TEXT NOT NULL DEFAULT 'text',
    key_id      TEXT NOT NULL DEFAULT '',
    modified_ms INTEGER NOT NULL,
    modified_by TEXT NOT NULL DEFAULT ''
);

CREATE TABLE secrets (
    name        TEXT PRIMARY KEY,
    arn         TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    kms_key_id  TEXT NOT NULL DEFAULT '',
    tags        TEXT NOT NULL DEFAULT '[]',  -- JSON [{"Key","Value"}]
    created_ms  INTEGER NOT NULL,
    changed_ms  INTEGER NOT NULL,
    accessed_ms INTEGER,
    deleted_ms  INTEGER                      -- scheduled deletion date, NULL if live
);

CREATE TABLE secret_versions (
    secret     TEXT NOT NULL REFERENCES secrets(name) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    value      BLOB NOT NULL,
    is_binary  INTEGER NOT NULL,
    stages     TEXT NOT NULL DEFAULT '[]',   -- JSON list of staging labels
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (secret, version_id)
);
