package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/artifactd/registry/internal/domain"
)

// PutMavenFile attaches one file to a Maven version in one transaction,
// creating the package (publish=ALLOW, upstream=BLOCK) and the version (in
// status Unfinished) as needed. Unlike AddAsset, files may be added to a
// Published or Unlisted version, as Maven allows; an Archived or Disposed
// version is ErrConflict. The same file name with identical bytes is an
// idempotent no-op (Created false); with different bytes it is
// ErrConflict. A POM (in.POM) replaces the version's descriptive metadata
// and dependencies. A package whose origin configuration blocks publishing
// is ErrForbidden.
func (d *DB) PutMavenFile(ctx context.Context, in domain.MavenFileInput) (domain.MavenFileResult, error) {
	var out domain.MavenFileResult
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
		vid, v, err := findVersion(ctx, tx, pid, in.Ref, in.Version)
		switch {
		case err == sql.ErrNoRows:
			res, err := tx.ExecContext(ctx, `INSERT INTO package_versions(package_id, version, status, revision, display_name, summary, home_page,
				source_code_repository, licenses, metadata, origin_type, origin_repository, published_at, updated_at)
				VALUES (?, ?, 'Unfinished', ?, ?, ?, ?, ?, ?, ?, 'INTERNAL', ?, ?, ?)`,
				pid, in.Version, newRevision(), in.Meta.DisplayName, in.Meta.Summary, in.Meta.HomePage, in.Meta.SourceCodeRepository,
				string(licenses), string(meta), in.Repository, t, t)
			if err != nil {
				return fmt.Errorf("sqlite: create maven version: %w", err)
			}
			vid, _ = res.LastInsertId()
		case err != nil:
			return err
		default:
			var existing string
			err := tx.QueryRowContext(ctx, `SELECT sha256 FROM assets WHERE version_id = ? AND name = ?`, vid, in.Asset.Name).Scan(&existing)
			if err == nil && existing == in.Asset.Hashes.SHA256 {
				out.Version = v // identical re-upload
				return nil
			}
			if err == nil {
				return domain.Conflict("asset", in.Asset.Name, "%s already exists in %s:%s:%s with different content; a stored file cannot be replaced",
					in.Asset.Name, in.Ref.Namespace, in.Ref.Name, in.Version)
			}
			if err != sql.ErrNoRows {
				return err
			}
			switch v.Status {
			case domain.StatusUnfinished, domain.StatusPublished, domain.StatusUnlisted:
			default:
				return domain.Conflict("package-version", in.Version, "%s:%s:%s is %s; files cannot be added to it",
					in.Ref.Namespace, in.Ref.Name, in.Version, v.Status)
			}
			if in.POM {
				_, err = tx.ExecContext(ctx, `UPDATE package_versions SET revision = ?, updated_at = ?, display_name = ?, summary = ?, home_page = ?,
					source_code_repository = ?, licenses = ?, metadata = ? WHERE id = ?`,
					newRevision(), t, in.Meta.DisplayName, in.Meta.Summary, in.Meta.HomePage, in.Meta.SourceCodeRepository, string(licenses), string(meta), vid)
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE package_versions SET revision = ?, updated_at = ? WHERE id = ?`, newRevision(), t, vid)
			}
			if err != nil {
				return err
			}
		}
		if in.POM {
			if _, err := tx.ExecContext(ctx, `DELETE FROM dependencies WHERE version_id = ?`, vid); err != nil {
				return err
			}
			for i, dep := range in.Dependencies {
				if _, err := tx.ExecContext(ctx, `INSERT INTO dependencies(version_id, position, namespace, name, dependency_type, version_requirement) VALUES (?, ?, ?, ?, ?, ?)`,
					vid, i, dep.Namespace, dep.Name, dep.Type, dep.VersionRequirement); err != nil {
					return err
				}
			}
		}
		if err := insertBlob(ctx, tx, in.Asset); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO assets(version_id, name, sha256, created_at) VALUES (?, ?, ?, ?)`, vid, in.Asset.Name, in.Asset.Hashes.SHA256, t); err != nil {
			return fmt.Errorf("sqlite: add maven file: %w", err)
		}
		if err := bumpPackage(ctx, tx, pid); err != nil {
			return err
		}
		out.Created = true
		_, out.Version, err = scanVersion(tx.QueryRowContext(ctx, `SELECT `+versionCols+` FROM package_versions v WHERE v.id = ?`, vid), in.Ref)
		return err
	})
	return out, err
}

// TransitionVersions changes the statuses of a package's versions as plan
// decides, in one write transaction: plan sees every version and the
// changes are applied before any other writer runs. Changes that
// domain.CanTransition refuses, and versions plan names that do not exist,
// are ignored. A version that leaves Unfinished for Published gets the
// current time as its publish time. It returns the versions that changed;
// an unknown package is ErrNotFound.
func (d *DB) TransitionVersions(ctx context.Context, dom, repo string, ref domain.PackageRef, plan domain.StatusPlan) ([]domain.PackageVersion, error) {
	var changed []domain.PackageVersion
	err := d.tx(ctx, func(tx *sql.Tx) error {
		changed = nil
		rid, err := repoID(ctx, tx, dom, repo)
		if err != nil {
			return err
		}
		pid, err := packageID(ctx, tx, rid, ref)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+versionCols+`, v.updated_at, v.metadata FROM package_versions v WHERE v.package_id = ? ORDER BY v.published_at, v.id`, pid)
		if err != nil {
			return fmt.Errorf("sqlite: transition: %w", err)
		}
		var records []domain.VersionRecord
		ids := map[string]int64{}
		for rows.Next() {
			var r domain.VersionRecord
			var id, published int64
			var licenses string
			var meta []byte
			if err := rows.Scan(&id, &r.Version, &r.Status, &r.Revision, &r.DisplayName, &r.Summary, &r.HomePage, &r.SourceCodeRepository,
				&licenses, &r.Origin.Type, &r.Origin.Repository, &r.Origin.ExternalConnection, &published, &r.UpdatedAt, &meta); err != nil {
				rows.Close()
				return err
			}
			r.PackageRef = ref
			r.PublishedAt = fromMillis(published)
			json.Unmarshal([]byte(licenses), &r.Licenses)
			r.Metadata = meta
			ids[r.Version] = id
			records = append(records, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		t := now()
		targets := plan(records)
		for _, r := range records {
			to, ok := targets[r.Version]
			if !ok || to == r.Status {
				continue
			}
			if ok, _ := domain.CanTransition(r.Status, to); !ok {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE package_versions SET status = ?, revision = ?, updated_at = ?,
				published_at = CASE WHEN ? = 'Unfinished' AND ? = 'Published' THEN ? ELSE published_at END WHERE id = ?`,
				to, newRevision(), t, r.Status, to, t, ids[r.Version]); err != nil {
				return fmt.Errorf("sqlite: transition %s: %w", r.Version, err)
			}
			_, v, err := scanVersion(tx.QueryRowContext(ctx, `SELECT `+versionCols+` FROM package_versions v WHERE v.id = ?`, ids[r.Version]), ref)
			if err != nil {
				return err
			}
			changed = append(changed, v)
		}
		if len(changed) == 0 {
			return nil
		}
		return bumpPackage(ctx, tx, pid)
	})
	return changed, err
}
