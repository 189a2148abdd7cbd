package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/artifactd/registry/internal/domain"
)

// AddAsset attaches an asset to a version, creating the package (origin
// controls publish=ALLOW, upstream=BLOCK) and the version as needed, in one
// transaction. The same asset name with identical bytes is idempotent; with
// different bytes it is ErrConflict, as is adding an asset to a version that
// is no longer Unfinished.
func (d *DB) AddAsset(ctx context.Context, in domain.AddAssetInput) (domain.PackageVersion, error) {
	var out domain.PackageVersion
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
		vid, v, err := findVersion(ctx, tx, pid, in.Ref, in.Version)
		t := now()
		switch {
		case err == sql.ErrNoRows:
			status := domain.StatusPublished
			if in.Unfinished {
				status = domain.StatusUnfinished
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO package_versions(package_id, version, status, revision, origin_type, origin_repository, published_at, updated_at)
				VALUES (?, ?, ?, ?, 'INTERNAL', ?, ?, ?)`, pid, in.Version, status, newRevision(), in.Repository, t, t)
			if err != nil {
				return err
			}
			vid, _ = res.LastInsertId()
		case err != nil:
			return err
		default:
			var existing string
			err := tx.QueryRowContext(ctx, `SELECT sha256 FROM assets WHERE version_id = ? AND name = ?`, vid, in.Asset.Name).Scan(&existing)
			if err == nil && existing == in.Asset.Hashes.SHA256 {
				out = v // identical re-upload
				return nil
			}
			if err == nil {
				return domain.Conflict("asset", in.Asset.Name, "asset %s of %s@%s already exists with different content", in.Asset.Name, refString(in.Ref), in.Version)
			}
			if err != sql.ErrNoRows {
				return err
			}
			if v.Status != domain.StatusUnfinished {
				return domain.Conflict("package-version", in.Version, "package version %s@%s is %s; assets can only be added while it is Unfinished", refString(in.Ref), in.Version, v.Status)
			}
			status := domain.StatusPublished
			if in.Unfinished {
				status = domain.StatusUnfinished
			}
			if _, err := tx.ExecContext(ctx, `UPDATE package_versions SET status = ?, revision = ?, updated_at = ?,
				published_at = CASE WHEN ? = 'Published' THEN ? ELSE published_at END WHERE id = ?`,
				status, newRevision(), t, status, t, vid); err != nil {
				return err
			}
		}
		if err := insertBlob(ctx, tx, in.Asset); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO assets(version_id, name, sha256, created_at) VALUES (?, ?, ?, ?)`, vid, in.Asset.Name, in.Asset.Hashes.SHA256, t); err != nil {
			return fmt.Errorf("sqlite: add asset: %w", err)
		}
		if err := bumpPackage(ctx, tx, pid); err != nil {
			return err
		}
		_, out, err = scanVersion(tx.QueryRowContext(ctx, `SELECT `+versionCols+` FROM package_versions v WHERE v.id = ?`, vid), in.Ref)
		return err
	})
	return out, err
}

// ensurePackage returns the id of a package, creating it with the origin
// configuration of a directly published package.
func ensurePackage(ctx context.Context, tx *sql.Tx, rid int64, ref domain.PackageRef) (int64, error) {
	id, err := packageID(ctx, tx, rid, ref)
	if err == nil {
		return id, nil
	}
	if domain.KindOf(err) != domain.ErrNotFound {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO packages(repository_id, format, namespace, name, publish, upstream) VALUES (?, ?, ?, ?, 'ALLOW', 'BLOCK')`,
		rid, ref.Format, ref.Namespace, ref.Name)
	if err != nil {
		return 0, fmt.Errorf("sqlite: create package: %w", err)
	}
	return res.LastInsertId()
}

// checkPublish refuses a publish into a package whose origin
// configuration blocks publishing.
func checkPublish(ctx context.Context, tx *sql.Tx, pid int64, ref domain.PackageRef) error {
	var publish string
	if err := tx.QueryRowContext(ctx, `SELECT publish FROM packages WHERE id = ?`, pid).Scan(&publish); err != nil {
		return err
	}
	if domain.Restriction(publish) == domain.Block {
		return domain.Errorf(domain.ErrForbidden, "publishing to package %s is blocked by its origin configuration", refString(ref))
	}
	return nil
}

// findVersion reads one version of package pid; sql.ErrNoRows if absent.
func findVersion(ctx context.Context, tx *sql.Tx, pid int64, ref domain.PackageRef, version string) (int64, domain.PackageVersion, error) {
	return scanVersion(tx.QueryRowContext(ctx, `SELECT `+versionCols+` FROM package_versions v WHERE v.package_id = ? AND v.version = ?`, pid, version), ref)
}

// bumpPackage advances a package's revision; every transaction that
// changes a package, its versions or its tags calls it.
func bumpPackage(ctx context.Context, tx *sql.Tx, pid int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE packages SET revision = revision + 1 WHERE id = ?`, pid)
	return err
}

func insertBlob(ctx context.Context, tx *sql.Tx, a domain.Asset) error {
	_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO blobs(sha256, size, md5, sha1, sha512, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		a.Hashes.SHA256, a.Size, a.Hashes.MD5, a.Hashes.SHA1, a.Hashes.SHA512, now())
	return err
}
