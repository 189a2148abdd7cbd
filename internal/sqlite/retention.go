package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/artifactd/registry/internal/domain"
)

// Retention and ingestion: a version found upstream is recorded, metadata
// only, in the repositories domain.RetainIn names. Both writes are one
// transaction over every target, are idempotent (a target that already
// has the version is left as it is) and insert package_versions and
// assets rows, so the event triggers of migration 0005 report them as
// package-version changes. A package created by them takes its origin
// controls from the version's origin: INTERNAL gives publish ALLOW,
// upstream BLOCK; EXTERNAL gives publish BLOCK, upstream ALLOW.

// RetainVersion copies a version of repository from, with its assets
// (the same blobs), dependencies and origin, into every repository of
// into. The source version must exist (any status); the copies are
// Published.
func (d *DB) RetainVersion(ctx context.Context, dom, from string, ref domain.PackageRef, version string, into []string) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		vid, src, err := versionRef(ctx, tx, dom, from, ref, version)
		if err != nil {
			return err
		}
		publish, upstream := originControls(src.Origin.Type)
		for _, repo := range into {
			rid, err := repoID(ctx, tx, dom, repo)
			if err != nil {
				return err
			}
			pid, err := ensurePackageWith(ctx, tx, rid, ref, publish, upstream)
			if err != nil {
				return err
			}
			t := now()
			res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO package_versions(package_id, version, status, revision, display_name, summary,
				home_page, source_code_repository, licenses, readme, metadata, origin_type, origin_repository, origin_external, published_at, updated_at)
				SELECT ?, version, 'Published', ?, display_name, summary, home_page, source_code_repository, licenses, readme, metadata,
				origin_type, origin_repository, origin_external, published_at, ? FROM package_versions WHERE id = ?`,
				pid, newRevision(), t, vid)
			if err != nil {
				return fmt.Errorf("sqlite: retain %s@%s in %s: %w", refString(ref), version, repo, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				// Already there: add the files it lacks (a PyPI release or
				// Maven version gains files one request at a time).
				var have int64
				if err := tx.QueryRowContext(ctx, `SELECT id FROM package_versions WHERE package_id = ? AND version = ?`, pid, version).Scan(&have); err != nil {
					return fmt.Errorf("sqlite: retain %s@%s in %s: %w", refString(ref), version, repo, err)
				}
				added, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO assets(version_id, name, sha256, created_at) SELECT ?, name, sha256, ? FROM assets WHERE version_id = ?`,
					have, t, vid)
				if err != nil {
					return fmt.Errorf("sqlite: retain assets: %w", err)
				}
				if n, _ := added.RowsAffected(); n > 0 {
					if err := bumpPackage(ctx, tx, pid); err != nil {
						return err
					}
				}
				continue
			}
			nid, _ := res.LastInsertId()
			if _, err := tx.ExecContext(ctx, `INSERT INTO assets(version_id, name, sha256, created_at) SELECT ?, name, sha256, ? FROM assets WHERE version_id = ?`,
				nid, t, vid); err != nil {
				return fmt.Errorf("sqlite: retain assets: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO dependencies(version_id, position, namespace, name, dependency_type, version_requirement)
				SELECT ?, position, namespace, name, dependency_type, version_requirement FROM dependencies WHERE version_id = ?`, nid, vid); err != nil {
				return fmt.Errorf("sqlite: retain dependencies: %w", err)
			}
			if err := bumpPackage(ctx, tx, pid); err != nil {
				return err
			}
		}
		return nil
	})
}

// IngestVersion records a version fetched through an external connection
// in every repository of in.Repositories: status Published, origin
// EXTERNAL naming in.ExternalConnection.
func (d *DB) IngestVersion(ctx context.Context, in domain.IngestInput) error {
	meta := in.Meta.Metadata
	if len(meta) == 0 {
		meta = json.RawMessage("{}")
	}
	licenses, _ := json.Marshal(licensesOrEmpty(in.Meta.Licenses))
	published := now()
	if !in.PublishedAt.IsZero() {
		published = in.PublishedAt.UnixMilli()
	}
	publish, upstream := originControls(domain.OriginExternal)
	return d.tx(ctx, func(tx *sql.Tx) error {
		for _, a := range in.Assets {
			if err := insertBlob(ctx, tx, a); err != nil {
				return err
			}
		}
		for _, repo := range in.Repositories {
			rid, err := repoID(ctx, tx, in.Domain, repo)
			if err != nil {
				return err
			}
			pid, err := ensurePackageWith(ctx, tx, rid, in.Ref, publish, upstream)
			if err != nil {
				return err
			}
			t := now()
			res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO package_versions(package_id, version, status, revision, display_name, summary,
				home_page, source_code_repository, licenses, readme, metadata, origin_type, origin_repository, origin_external, published_at, updated_at)
				VALUES (?, ?, 'Published', ?, ?, ?, ?, ?, ?, ?, ?, 'EXTERNAL', '', ?, ?, ?)`,
				pid, in.Version, newRevision(), in.Meta.DisplayName, in.Meta.Summary, in.Meta.HomePage, in.Meta.SourceCodeRepository,
				string(licenses), in.Meta.Readme, string(meta), in.ExternalConnection, published, t)
			if err != nil {
				return fmt.Errorf("sqlite: ingest %s@%s in %s: %w", refString(in.Ref), in.Version, repo, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				// Already there: add the files it lacks (a PyPI release or
				// Maven version is fetched one file at a time).
				var have int64
				if err := tx.QueryRowContext(ctx, `SELECT id FROM package_versions WHERE package_id = ? AND version = ?`, pid, in.Version).Scan(&have); err != nil {
					return fmt.Errorf("sqlite: ingest %s@%s in %s: %w", refString(in.Ref), in.Version, repo, err)
				}
				var added int64
				for _, a := range in.Assets {
					r, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO assets(version_id, name, sha256, created_at) VALUES (?, ?, ?, ?)`, have, a.Name, a.Hashes.SHA256, t)
					if err != nil {
						return fmt.Errorf("sqlite: ingest asset %s: %w", a.Name, err)
					}
					n, _ := r.RowsAffected()
					added += n
				}
				if added > 0 {
					if err := bumpPackage(ctx, tx, pid); err != nil {
						return err
					}
				}
				continue
			}
			vid, _ := res.LastInsertId()
			for _, a := range in.Assets {
				if _, err := tx.ExecContext(ctx, `INSERT INTO assets(version_id, name, sha256, created_at) VALUES (?, ?, ?, ?)`, vid, a.Name, a.Hashes.SHA256, t); err != nil {
					return fmt.Errorf("sqlite: ingest asset %s: %w", a.Name, err)
				}
			}
			for i, dep := range in.Dependencies {
				if _, err := tx.ExecContext(ctx, `INSERT INTO dependencies(version_id, position, namespace, name, dependency_type, version_requirement) VALUES (?, ?, ?, ?, ?, ?)`,
					vid, i, dep.Namespace, dep.Name, dep.Type, dep.VersionRequirement); err != nil {
					return err
				}
			}
			if err := bumpPackage(ctx, tx, pid); err != nil {
				return err
			}
		}
		return nil
	})
}

// originControls returns the origin controls a package gets from the
// origin of its first version (CodeArtifact's defaults).
func originControls(t domain.OriginType) (publish, upstream domain.Restriction) {
	if t == domain.OriginExternal {
		return domain.Block, domain.Allow
	}
	return domain.Allow, domain.Block
}

// ensurePackageWith returns a package's id, creating it with the given
// origin controls when it does not exist.
func ensurePackageWith(ctx context.Context, tx *sql.Tx, rid int64, ref domain.PackageRef, publish, upstream domain.Restriction) (int64, error) {
	id, err := packageID(ctx, tx, rid, ref)
	if err == nil {
		return id, nil
	}
	if domain.KindOf(err) != domain.ErrNotFound {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO packages(repository_id, format, namespace, name, publish, upstream) VALUES (?, ?, ?, ?, ?, ?)`,
		rid, ref.Format, ref.Namespace, ref.Name, publish, upstream)
	if err != nil {
		return 0, fmt.Errorf("sqlite: create package: %w", err)
	}
	return res.LastInsertId()
}
