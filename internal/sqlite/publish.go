package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/artifactd/registry/internal/domain"
)

// PublishVersion creates a version with its assets, metadata, dependencies
// and tags in one transaction. An existing version (any status) is
// ErrConflict; a package whose origin configuration blocks publishing is
// ErrForbidden.
func (d *DB) PublishVersion(ctx context.Context, in domain.PublishInput) (domain.PackageVersion, error) {
	var out domain.PackageVersion
	status := in.Status
	if status == "" {
		status = domain.StatusPublished
	}
	meta := in.Meta.Metadata
	if len(meta) == 0 {
		meta = json.RawMessage("{}")
	}
	licenses, _ := json.Marshal(licensesOrEmpty(in.Meta.Licenses))
	err := d.tx(ctx, func(tx *sql.Tx) error {
		rid, err := repoID(ctx, tx, in.Domain, in.Repository)
		if err != nil {
			return err
		}
		pid, err := d.ensurePublishPackage(ctx, tx, rid, in.Domain, in.Repository, in.Ref)
		if err != nil {
			return err
		}
		if err := checkPublish(ctx, tx, pid, in.Ref); err != nil {
			return err
		}
		t := now()
		res, err := tx.ExecContext(ctx, `INSERT INTO package_versions(package_id, version, status, revision, display_name, summary, home_page,
			source_code_repository, licenses, readme, metadata, origin_type, origin_repository, published_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'INTERNAL', ?, ?, ?)`,
			pid, in.Version, status, newRevision(), in.Meta.DisplayName, in.Meta.Summary, in.Meta.HomePage, in.Meta.SourceCodeRepository,
			string(licenses), in.Meta.Readme, string(meta), in.Repository, t, t)
		if isUnique(err) {
			return domain.Conflict("package-version", in.Version, "cannot publish over the previously published version %s of %s", in.Version, refString(in.Ref))
		}
		if err != nil {
			return fmt.Errorf("sqlite: publish: %w", err)
		}
		vid, _ := res.LastInsertId()
		for _, a := range in.Assets {
			if err := insertBlob(ctx, tx, a); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO assets(version_id, name, sha256, created_at) VALUES (?, ?, ?, ?)`, vid, a.Name, a.Hashes.SHA256, t); err != nil {
				return fmt.Errorf("sqlite: publish asset %s: %w", a.Name, err)
			}
		}
		for i, dep := range in.Dependencies {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dependencies(version_id, position, namespace, name, dependency_type, version_requirement) VALUES (?, ?, ?, ?, ?, ?)`,
				vid, i, dep.Namespace, dep.Name, dep.Type, dep.VersionRequirement); err != nil {
				return err
			}
		}
		for tag, v := range in.DistTags {
			if err := setTag(ctx, tx, pid, tag, v); err != nil {
				return err
			}
		}
		if err := bumpPackage(ctx, tx, pid); err != nil {
			return err
		}
		_, out, err = scanVersion(tx.QueryRowContext(ctx, `SELECT `+versionCols+` FROM package_versions v WHERE v.id = ?`, vid), in.Ref)
		return err
	})
	return out, err
}

func licensesOrEmpty(l []domain.License) []map[string]string {
	out := make([]map[string]string, 0, len(l))
	for _, x := range l {
		out = append(out, map[string]string{"name": x.Name, "url": x.URL})
	}
	return out
}

func setTag(ctx context.Context, tx *sql.Tx, pid int64, tag, version string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM package_versions WHERE package_id = ? AND version = ?`, pid, version).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return domain.NotFound("package-version", version)
	}
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO dist_tags(package_id, tag, version) VALUES (?, ?, ?)`, pid, tag, version)
	return err
}

// SetDistTag points a tag at an existing version.
func (d *DB) SetDistTag(ctx context.Context, dom, repo string, ref domain.PackageRef, tag, version string) error {
	return d.packageTx(ctx, dom, repo, ref, func(tx *sql.Tx, pid int64) error {
		return setTag(ctx, tx, pid, tag, version)
	})
}

// DeleteDistTag removes a tag; ErrNotFound if it is not set.
func (d *DB) DeleteDistTag(ctx context.Context, dom, repo string, ref domain.PackageRef, tag string) error {
	return d.packageTx(ctx, dom, repo, ref, func(tx *sql.Tx, pid int64) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM dist_tags WHERE package_id = ? AND tag = ?`, pid, tag)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return domain.NotFound("dist-tag", tag)
		}
		return nil
	})
}

// UpdateMetadata replaces the format metadata of a version (npm deprecate)
// and gives it a new revision.
func (d *DB) UpdateMetadata(ctx context.Context, dom, repo string, ref domain.PackageRef, version string, meta json.RawMessage) (domain.PackageVersion, error) {
	var out domain.PackageVersion
	err := d.packageTx(ctx, dom, repo, ref, func(tx *sql.Tx, pid int64) error {
		res, err := tx.ExecContext(ctx, `UPDATE package_versions SET metadata = ?, revision = ?, updated_at = ? WHERE package_id = ? AND version = ?`,
			string(meta), newRevision(), now(), pid, version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return domain.NotFound("package-version", refString(ref)+"@"+version)
		}
		_, out, err = findVersion(ctx, tx, pid, ref, version)
		return err
	})
	return out, err
}

// packageTx runs fn on an existing package in a write transaction and
// advances the package revision.
func (d *DB) packageTx(ctx context.Context, dom, repo string, ref domain.PackageRef, fn func(tx *sql.Tx, pid int64) error) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		rid, err := repoID(ctx, tx, dom, repo)
		if err != nil {
			return err
		}
		pid, err := packageID(ctx, tx, rid, ref)
		if err != nil {
			return err
		}
		if err := fn(tx, pid); err != nil {
			return err
		}
		return bumpPackage(ctx, tx, pid)
	})
}

// Dependencies returns the declared dependencies of a version.
func (d *DB) Dependencies(ctx context.Context, dom, repo string, ref domain.PackageRef, version string) ([]domain.Dependency, domain.PackageVersion, error) {
	id, v, err := d.readVersionRef(ctx, dom, repo, ref, version)
	if err != nil {
		return nil, v, err
	}
	rows, err := d.db.QueryContext(ctx, `SELECT namespace, name, dependency_type, version_requirement FROM dependencies WHERE version_id = ? ORDER BY position`, id)
	if err != nil {
		return nil, v, err
	}
	defer rows.Close()
	var out []domain.Dependency
	for rows.Next() {
		var x domain.Dependency
		if err := rows.Scan(&x.Namespace, &x.Name, &x.Type, &x.VersionRequirement); err != nil {
			return nil, v, err
		}
		out = append(out, x)
	}
	return out, v, rows.Err()
}

// SetOrigin sets a package's origin controls, creating an empty package
// when it does not exist yet (so a name can be blocked in advance).
func (d *DB) SetOrigin(ctx context.Context, dom, repo string, ref domain.PackageRef, publish, upstream domain.Restriction) (domain.Package, error) {
	out := domain.Package{PackageRef: ref, Publish: publish, Upstream: upstream}
	err := d.tx(ctx, func(tx *sql.Tx) error {
		rid, err := repoID(ctx, tx, dom, repo)
		if err != nil {
			return err
		}
		pid, err := ensurePackage(ctx, tx, rid, ref)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE packages SET publish = ?, upstream = ? WHERE id = ?`, publish, upstream, pid); err != nil {
			return err
		}
		return bumpPackage(ctx, tx, pid)
	})
	return out, err
}
