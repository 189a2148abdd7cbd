package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/artifactd/registry/internal/domain"
)

// PackageStamp returns a cache validator for a package's rendered
// documents: it changes whenever the package revision does and, unlike
// the revision alone, also when a package is deleted and created again
// (which restarts the revision and may reuse row ids), because it
// includes the random revision given to a version row when it is
// written (that of the package's first version in version order). It
// reads the package row, one index entry and one version row.
func (d *DB) PackageStamp(ctx context.Context, dom, repo string, ref domain.PackageRef) (string, error) {
	return cachedRead(d, refKey("stamp", dom, repo, ref), nil, func() (string, error) {
		return d.packageStamp(ctx, dom, repo, ref)
	})
}

func (d *DB) packageStamp(ctx context.Context, dom, repo string, ref domain.PackageRef) (string, error) {
	var id, rev int64
	var newest string
	err := d.db.QueryRowContext(ctx, `SELECT p.id, p.revision, COALESCE((SELECT v.revision FROM package_versions v
			WHERE v.package_id = p.id ORDER BY v.version LIMIT 1), '')
		FROM packages p JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
		WHERE d.name = ? AND r.name = ? AND p.format = ? AND p.namespace = ? AND p.name = ?`,
		dom, repo, ref.Format, ref.Namespace, ref.Name).Scan(&id, &rev, &newest)
	if err == sql.ErrNoRows {
		return "", domain.NotFound("package", refString(ref))
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: package stamp: %w", err)
	}
	return fmt.Sprintf("%d.%d.%s", rev, id, newest), nil
}

// LatestVersions returns, for every package of format f in a repository,
// its current version: the one its "latest" tag names if that version is
// Published, else its most recently published Published version. Packages
// without a Published version are left out. Records come ordered by
// namespace and name, without assets; Metadata holds only the manifest
// fields a search result shows (keywords, author, _npmUser).
func (d *DB) LatestVersions(ctx context.Context, dom, repo string, f domain.Format) ([]domain.VersionRecord, error) {
	rid, err := d.readRepoID(ctx, dom, repo)
	if err != nil {
		return nil, err
	}
	rows, err := d.db.QueryContext(ctx, `SELECT p.namespace, p.name, `+versionCols+`, v.updated_at,
			json_object('keywords', json_extract(v.metadata, '$.keywords'), 'author', json_extract(v.metadata, '$.author'),
				'_npmUser', json_extract(v.metadata, '$._npmUser'))
		FROM packages p JOIN package_versions v ON v.id = COALESCE(
			(SELECT v2.id FROM dist_tags t JOIN package_versions v2 ON v2.package_id = t.package_id AND v2.version = t.version
				WHERE t.package_id = p.id AND t.tag = 'latest' AND v2.status = 'Published'),
			(SELECT v3.id FROM package_versions v3 WHERE v3.package_id = p.id AND v3.status = 'Published'
				ORDER BY v3.published_at DESC, v3.id DESC LIMIT 1))
		WHERE p.repository_id = ? AND p.format = ?
		ORDER BY p.namespace, p.name`, rid, f)
	if err != nil {
		return nil, fmt.Errorf("sqlite: latest versions: %w", err)
	}
	defer rows.Close()
	var out []domain.VersionRecord
	for rows.Next() {
		var r domain.VersionRecord
		var id, published int64
		var licenses, meta string
		if err := rows.Scan(&r.Namespace, &r.Name, &id, &r.Version, &r.Status, &r.Revision, &r.DisplayName, &r.Summary, &r.HomePage,
			&r.SourceCodeRepository, &licenses, &r.Origin.Type, &r.Origin.Repository, &r.Origin.ExternalConnection, &published,
			&r.UpdatedAt, &meta); err != nil {
			return nil, err
		}
		r.Format = f
		r.PublishedAt = fromMillis(published)
		json.Unmarshal([]byte(licenses), &r.Licenses)
		r.Metadata = []byte(meta)
		out = append(out, r)
	}
	return out, rows.Err()
}

// OriginControls returns a package's origin controls; ErrNotFound for an
// unknown package.
func (d *DB) OriginControls(ctx context.Context, dom, repo string, ref domain.PackageRef) (publish, upstream domain.Restriction, err error) {
	rs, err := cachedRead(d, refKey("origin", dom, repo, ref), nil, func() ([2]domain.Restriction, error) {
		p, u, err := d.originControls(ctx, dom, repo, ref)
		return [2]domain.Restriction{p, u}, err
	})
	return rs[0], rs[1], err
}

func (d *DB) originControls(ctx context.Context, dom, repo string, ref domain.PackageRef) (publish, upstream domain.Restriction, err error) {
	err = d.db.QueryRowContext(ctx, `SELECT p.publish, p.upstream FROM packages p JOIN repositories r ON r.id = p.repository_id JOIN domains d ON d.id = r.domain_id
		WHERE d.name = ? AND r.name = ? AND p.format = ? AND p.namespace = ? AND p.name = ?`,
		dom, repo, ref.Format, ref.Namespace, ref.Name).Scan(&publish, &upstream)
	if err == sql.ErrNoRows {
		return "", "", domain.NotFound("package", refString(ref))
	}
	if err != nil {
		return "", "", fmt.Errorf("sqlite: origin controls: %w", err)
	}
	return publish, upstream, nil
}
