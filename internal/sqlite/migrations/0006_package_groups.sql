-- Package groups (CodeArtifact's CreatePackageGroup and friends).
--
-- One row per group a user created, keyed by its canonical pattern. The
-- root group /* of a domain has a row only once its settings were changed;
-- until then it is implicit (everything ALLOW). Parents are not stored:
-- they follow from the patterns (domain.GroupTree).

CREATE TABLE package_groups (
    id                INTEGER PRIMARY KEY,
    domain_id         INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
    pattern           TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    contact_info      TEXT NOT NULL DEFAULT '',
    publish           TEXT NOT NULL DEFAULT 'INHERIT',
    external_upstream TEXT NOT NULL DEFAULT 'INHERIT',
    internal_upstream TEXT NOT NULL DEFAULT 'INHERIT',
    created_at        INTEGER NOT NULL,
    UNIQUE (domain_id, pattern)
);

CREATE TABLE package_group_allowed (
    group_id         INTEGER NOT NULL REFERENCES package_groups(id) ON DELETE CASCADE,
    restriction_type TEXT NOT NULL,   -- PUBLISH | EXTERNAL_UPSTREAM | INTERNAL_UPSTREAM
    repository       TEXT NOT NULL,
    PRIMARY KEY (group_id, restriction_type, repository)
);
