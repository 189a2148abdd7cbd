package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/artifactd/registry/internal/domain"
)

// AttachAssets adds assets to an existing version in status Published or
// Unlisted, in one transaction that also applies in.MetadataPatch to the
// version's metadata, gives the version a new revision and advances the
// package revision. Assets whose name the version already has with the
// same bytes are skipped; when every asset is such a repeat nothing
// changes (an idempotent re-upload). A name the version has with different
// bytes is ErrConflict and nothing is written. A missing version is
// ErrNotFound; a version in another status is ErrConflict; a package whose
// origin configuration blocks publishing is ErrForbidden.
func (d *DB) AttachAssets(ctx context.Context, in domain.AttachInput) (domain.PackageVersion, error) {
	var out domain.PackageVersion
	err := d.tx(ctx, func(tx *sql.Tx) error {
		rid, err := repoID(ctx, tx, in.Domain, in.Repository)
		if err != nil {
			return err
		}
		pid, err := packageID(ctx, tx, rid, in.Ref)
		if err != nil {
			return err
		}
		if err := checkPublish(ctx, tx, pid, in.Ref); err != nil {
			return err
		}
		vid, v, err := findVersion(ctx, tx, pid, in.Ref, in.Version)
		if err == sql.ErrNoRows {
			return domain.NotFound("package-version", refString(in.Ref)+"@"+in.Version)
		}
		if err != nil {
			return err
		}
		if v.Status != domain.StatusPublished && v.Status != domain.StatusUnlisted {
			return domain.Conflict("package-version", in.Version, "package version %s@%s is %s; files can only be added to a Published or Unlisted version", refString(in.Ref), in.Version, v.Status)
		}
		var fresh []domain.Asset
		for _, a := range in.Assets {
			var existing string
			err := tx.QueryRowContext(ctx, `SELECT sha256 FROM assets WHERE version_id = ? AND name = ?`, vid, a.Name).Scan(&existing)
			switch {
			case err == sql.ErrNoRows:
				fresh = append(fresh, a)
			case err != nil:
				return err
			case existing != a.Hashes.SHA256:
				return domain.Conflict("asset", a.Name, "asset %s of %s@%s already exists with different content", a.Name, refString(in.Ref), in.Version)
			}
		}
		if len(fresh) == 0 {
			out = v
			return nil
		}
		t := now()
		for _, a := range fresh {
			if err := insertBlob(ctx, tx, a); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO assets(version_id, name, sha256, created_at) VALUES (?, ?, ?, ?)`, vid, a.Name, a.Hashes.SHA256, t); err != nil {
				return fmt.Errorf("sqlite: attach asset %s: %w", a.Name, err)
			}
		}
		patch := string(in.MetadataPatch)
		if patch == "" {
			patch = "{}"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE package_versions SET metadata = json_patch(metadata, ?), revision = ?, updated_at = ? WHERE id = ?`,
			patch, newRevision(), t, vid); err != nil {
			return fmt.Errorf("sqlite: attach assets: %w", err)
		}
		if err := bumpPackage(ctx, tx, pid); err != nil {
			return err
		}
		_, out, err = scanVersion(tx.QueryRowContext(ctx, `SELECT `+versionCols+` FROM package_versions v WHERE v.id = ?`, vid), in.Ref)
		return err
	})
	return out, err
}

// DownloadablePackageNames returns the names of the packages of format f
// in a repository that have at least one version clients may download
// (Published or Unlisted), sorted.
func (d *DB) DownloadablePackageNames(ctx context.Context, dom, repo string, f domain.Format) ([]string, error) {
	rid, err := d.readRepoID(ctx, dom, repo)
	if err != nil {
		return nil, err
	}
	rows, err := d.db.QueryContext(ctx, `SELECT p.name FROM packages p WHERE p.repository_id = ? AND p.format = ? AND p.namespace = ''
		AND EXISTS (SELECT 1 FROM package_versions v WHERE v.package_id = p.id AND v.status IN ('Published', 'Unlisted'))
		ORDER BY p.name`, rid, f)
	if err != nil {
		return nil, fmt.Errorf("sqlite: package names: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
