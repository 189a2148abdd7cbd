package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/artifactd/registry/internal/domain"
)

// PackageRevision returns a package's revision, which changes whenever the
// package, a version or a tag changes; a cheap cache validator.
func (d *DB) PackageRevision(ctx context.Context, dom, repo string, ref domain.PackageRef) (int64, error) {
	var rev int64
	err := d.db.QueryRowContext(ctx, `SELECT p.revision FROM packages p JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
		WHERE d.name = ? AND r.name = ? AND p.format = ? AND p.namespace = ? AND p.name = ?`, dom, repo, ref.Format, ref.Namespace, ref.Name).Scan(&rev)
	if err == sql.ErrNoRows {
		return 0, domain.NotFound("package", refString(ref))
	}
	return rev, err
}

// View loads a package for rendering, in one read transaction so the
// revision matches the content.
func (d *DB) View(ctx context.Context, dom, repo string, ref domain.PackageRef) (domain.PackageView, error) {
	var pv domain.PackageView
	tx, err := d.ro.BeginTx(ctx, nil)
	if err != nil {
		return pv, fmt.Errorf("sqlite: view: %w", err)
	}
	defer tx.Rollback()
	rid, err := repoID(ctx, tx, dom, repo)
	if err != nil {
		return pv, err
	}
	pid, err := packageID(ctx, tx, rid, ref)
	if err != nil {
		return pv, err
	}
	pv.Package.PackageRef = ref
	if err := tx.QueryRowContext(ctx, `SELECT publish, upstream, revision FROM packages WHERE id = ?`, pid).
		Scan(&pv.Package.Publish, &pv.Package.Upstream, &pv.Revision); err != nil {
		return pv, err
	}
	pv.DistTags = map[string]string{}
	rows, err := tx.QueryContext(ctx, `SELECT tag, version FROM dist_tags WHERE package_id = ?`, pid)
	if err != nil {
		return pv, err
	}
	for rows.Next() {
		var t, v string
		rows.Scan(&t, &v)
		pv.DistTags[t] = v
	}
	rows.Close()
	rows, err = tx.QueryContext(ctx, `SELECT `+versionCols+`, v.updated_at, v.metadata FROM package_versions v WHERE v.package_id = ? ORDER BY v.published_at, v.id`, pid)
	if err != nil {
		return pv, err
	}
	index := map[int64]int{}
	for rows.Next() {
		var r domain.VersionRecord
		var id, published int64
		var licenses string
		var meta []byte
		if err := rows.Scan(&id, &r.Version, &r.Status, &r.Revision, &r.DisplayName, &r.Summary, &r.HomePage, &r.SourceCodeRepository,
			&licenses, &r.Origin.Type, &r.Origin.Repository, &r.Origin.ExternalConnection, &published, &r.UpdatedAt, &meta); err != nil {
			rows.Close()
			return pv, err
		}
		r.PackageRef = ref
		r.PublishedAt = fromMillis(published)
		json.Unmarshal([]byte(licenses), &r.Licenses)
		r.Metadata = meta
		index[id] = len(pv.Versions)
		pv.Versions = append(pv.Versions, r)
	}
	rows.Close()
	rows, err = tx.QueryContext(ctx, `SELECT a.version_id, a.name, b.size, b.md5, b.sha1, b.sha256, b.sha512 FROM assets a
		JOIN blobs b ON b.sha256 = a.sha256 JOIN package_versions v ON v.id = a.version_id WHERE v.package_id = ? ORDER BY a.name`, pid)
	if err != nil {
		return pv, err
	}
	defer rows.Close()
	for rows.Next() {
		var vid int64
		var a domain.Asset
		if err := rows.Scan(&vid, &a.Name, &a.Size, &a.Hashes.MD5, &a.Hashes.SHA1, &a.Hashes.SHA256, &a.Hashes.SHA512); err != nil {
			return pv, err
		}
		if i, ok := index[vid]; ok {
			pv.Versions[i].Assets = append(pv.Versions[i].Assets, a)
		}
	}
	return pv, rows.Err()
}
