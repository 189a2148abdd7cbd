package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/artifactd/registry/internal/domain"
)

func packageID(ctx context.Context, q querier, rid int64, ref domain.PackageRef) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT id FROM packages WHERE repository_id = ? AND format = ? AND namespace = ? AND name = ?`,
		rid, ref.Format, ref.Namespace, ref.Name).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, domain.NotFound("package", refString(ref))
	}
	return id, err
}

func refString(ref domain.PackageRef) string {
	if ref.Namespace == "" {
		return ref.Name
	}
	return ref.Namespace + "/" + ref.Name
}

// ListPackages lists the packages of a repository that have at least one
// version or an explicit origin configuration.
func (d *DB) ListPackages(ctx context.Context, dom, repo string, f domain.PackageFilter, p domain.Page) ([]domain.Package, string, error) {
	rid, err := d.readRepoID(ctx, dom, repo)
	if err != nil {
		return nil, "", err
	}
	after, err := untoken(p.After)
	if err != nil {
		return nil, "", err
	}
	rows, err := d.db.QueryContext(ctx, `SELECT format, namespace, name, publish, upstream, format || char(0) || namespace || char(0) || name AS k
		FROM packages WHERE repository_id = ?
		AND (? = '' OR format = ?) AND instr(namespace, ?) = 1 AND instr(name, ?) = 1
		AND (? = '' OR publish = ?) AND (? = '' OR upstream = ?) AND k > ?
		ORDER BY k LIMIT ?`, rid, f.Format, f.Format, f.Namespace, f.Prefix, f.Publish, f.Publish, f.Upstream, f.Upstream, after, p.Size()+1)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list packages: %w", err)
	}
	defer rows.Close()
	var out []domain.Package
	var keys []string
	for rows.Next() {
		var x domain.Package
		var k string
		if err := rows.Scan(&x.Format, &x.Namespace, &x.Name, &x.Publish, &x.Upstream, &k); err != nil {
			return nil, "", err
		}
		out, keys = append(out, x), append(keys, k)
	}
	next := ""
	if len(out) > p.Size() {
		out = out[:p.Size()]
		next = token(keys[p.Size()-1])
	}
	return out, next, rows.Err()
}

// GetPackage returns a package of a repository.
func (d *DB) GetPackage(ctx context.Context, dom, repo string, ref domain.PackageRef) (domain.Package, error) {
	rid, err := d.readRepoID(ctx, dom, repo)
	if err != nil {
		return domain.Package{}, err
	}
	x := domain.Package{PackageRef: ref}
	err = d.db.QueryRowContext(ctx, `SELECT publish, upstream FROM packages WHERE repository_id = ? AND format = ? AND namespace = ? AND name = ?`,
		rid, ref.Format, ref.Namespace, ref.Name).Scan(&x.Publish, &x.Upstream)
	if err == sql.ErrNoRows {
		return x, domain.NotFound("package", refString(ref))
	}
	return x, err
}

const versionCols = `v.id, v.version, v.status, v.revision, v.display_name, v.summary, v.home_page, v.source_code_repository,
	v.licenses, v.origin_type, v.origin_repository, v.origin_external, v.published_at`

func scanVersion(row interface{ Scan(...any) error }, ref domain.PackageRef) (int64, domain.PackageVersion, error) {
	v := domain.PackageVersion{PackageRef: ref}
	var id, published int64
	var licenses string
	err := row.Scan(&id, &v.Version, &v.Status, &v.Revision, &v.DisplayName, &v.Summary, &v.HomePage, &v.SourceCodeRepository,
		&licenses, &v.Origin.Type, &v.Origin.Repository, &v.Origin.ExternalConnection, &published)
	if err != nil {
		return 0, v, err
	}
	v.PublishedAt = fromMillis(published)
	if err := json.Unmarshal([]byte(licenses), &v.Licenses); err != nil {
		v.Licenses = nil
	}
	return id, v, nil
}

// ListVersions lists the versions of a package in a repository, every
// status unless filtered, ordered by version string (or publish time).
func (d *DB) ListVersions(ctx context.Context, dom, repo string, ref domain.PackageRef, f domain.VersionFilter, p domain.Page) ([]domain.PackageVersion, string, error) {
	rid, err := d.readRepoID(ctx, dom, repo)
	if err != nil {
		return nil, "", err
	}
	pid, err := packageID(ctx, d.db, rid, ref)
	if err != nil {
		return nil, "", err
	}
	after, err := untoken(p.After)
	if err != nil {
		return nil, "", err
	}
	key := `v.version`
	if f.SortByPublished {
		key = `printf('%020d', v.published_at) || char(0) || v.version`
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+versionCols+`, `+key+` AS k FROM package_versions v
		WHERE v.package_id = ? AND (? = '' OR v.status = ?) AND (? = '' OR v.origin_type = ?) AND k > ?
		ORDER BY k LIMIT ?`, pid, f.Status, f.Status, f.OriginType, f.OriginType, after, p.Size()+1)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list versions: %w", err)
	}
	defer rows.Close()
	var out []domain.PackageVersion
	var keys []string
	for rows.Next() {
		v := domain.PackageVersion{PackageRef: ref}
		var id, published int64
		var licenses, k string
		if err := rows.Scan(&id, &v.Version, &v.Status, &v.Revision, &v.DisplayName, &v.Summary, &v.HomePage, &v.SourceCodeRepository,
			&licenses, &v.Origin.Type, &v.Origin.Repository, &v.Origin.ExternalConnection, &published, &k); err != nil {
			return nil, "", err
		}
		v.PublishedAt = fromMillis(published)
		json.Unmarshal([]byte(licenses), &v.Licenses)
		out, keys = append(out, v), append(keys, k)
	}
	next := ""
	if len(out) > p.Size() {
		out = out[:p.Size()]
		next = token(keys[p.Size()-1])
	}
	return out, next, rows.Err()
}

// LatestVersion returns the most recently published version of a package
// (its defaultDisplayVersion), or "" when it has none.
func (d *DB) LatestVersion(ctx context.Context, dom, repo string, ref domain.PackageRef) (string, error) {
	rid, err := d.readRepoID(ctx, dom, repo)
	if err != nil {
		return "", err
	}
	pid, err := packageID(ctx, d.db, rid, ref)
	if err != nil {
		return "", err
	}
	var v string
	err = d.db.QueryRowContext(ctx, `SELECT COALESCE((SELECT version FROM dist_tags WHERE package_id = ? AND tag = 'latest'),
		(SELECT version FROM package_versions WHERE package_id = ? AND status = 'Published' ORDER BY published_at DESC, id DESC LIMIT 1), '')`, pid, pid).Scan(&v)
	return v, err
}

// versionRef resolves a version; ErrNotFound names what is missing.
func versionRef(ctx context.Context, q querier, dom, repo string, ref domain.PackageRef, version string) (int64, domain.PackageVersion, error) {
	rid, err := repoID(ctx, q, dom, repo)
	if err != nil {
		return 0, domain.PackageVersion{}, err
	}
	return versionIn(ctx, q, rid, ref, version)
}

// readVersionRef is versionRef outside a transaction, with the
// repository's id from the read cache.
func (d *DB) readVersionRef(ctx context.Context, dom, repo string, ref domain.PackageRef, version string) (int64, domain.PackageVersion, error) {
	rid, err := d.readRepoID(ctx, dom, repo)
	if err != nil {
		return 0, domain.PackageVersion{}, err
	}
	return versionIn(ctx, d.db, rid, ref, version)
}

// versionIn resolves a version of a package of repository rid.
func versionIn(ctx context.Context, q querier, rid int64, ref domain.PackageRef, version string) (int64, domain.PackageVersion, error) {
	pid, err := packageID(ctx, q, rid, ref)
	if err != nil {
		return 0, domain.PackageVersion{}, err
	}
	id, v, err := scanVersion(q.QueryRowContext(ctx, `SELECT `+versionCols+` FROM package_versions v WHERE v.package_id = ? AND v.version = ?`, pid, version), ref)
	if err == sql.ErrNoRows {
		return 0, v, domain.NotFound("package-version", refString(ref)+"@"+version)
	}
	return id, v, err
}

// GetVersion returns one version of a package.
func (d *DB) GetVersion(ctx context.Context, dom, repo string, ref domain.PackageRef, version string) (domain.PackageVersion, error) {
	_, v, err := d.readVersionRef(ctx, dom, repo, ref, version)
	return v, err
}

// Readme returns a version's readme text.
func (d *DB) Readme(ctx context.Context, dom, repo string, ref domain.PackageRef, version string) (string, domain.PackageVersion, error) {
	id, v, err := d.readVersionRef(ctx, dom, repo, ref, version)
	if err != nil {
		return "", v, err
	}
	var readme string
	err = d.db.QueryRowContext(ctx, `SELECT readme FROM package_versions WHERE id = ?`, id).Scan(&readme)
	return readme, v, err
}

func listAssets(ctx context.Context, q querier, vid int64, after string, limit int) ([]domain.Asset, error) {
	rows, err := q.QueryContext(ctx, `SELECT a.name, b.size, b.md5, b.sha1, b.sha256, b.sha512 FROM assets a JOIN blobs b ON b.sha256 = a.sha256
		WHERE a.version_id = ? AND a.name > ? ORDER BY a.name LIMIT ?`, vid, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []domain.Asset
	for rows.Next() {
		var a domain.Asset
		if err := rows.Scan(&a.Name, &a.Size, &a.Hashes.MD5, &a.Hashes.SHA1, &a.Hashes.SHA256, &a.Hashes.SHA512); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ListAssets lists the assets of a version, by name.
func (d *DB) ListAssets(ctx context.Context, dom, repo string, ref domain.PackageRef, version string, p domain.Page) ([]domain.Asset, domain.PackageVersion, string, error) {
	id, v, err := d.readVersionRef(ctx, dom, repo, ref, version)
	if err != nil {
		return nil, v, "", err
	}
	after, err := untoken(p.After)
	if err != nil {
		return nil, v, "", err
	}
	out, err := listAssets(ctx, d.db, id, after, p.Size()+1)
	next := ""
	if len(out) > p.Size() {
		out = out[:p.Size()]
		next = token(out[len(out)-1].Name)
	}
	return out, v, next, err
}

// GetAsset returns one asset of a version.
func (d *DB) GetAsset(ctx context.Context, dom, repo string, ref domain.PackageRef, version, name string) (domain.Asset, domain.PackageVersion, error) {
	// Cached when found (every tarball, wheel and jar download asks);
	// a miss keeps its partial answer, so it is not cached.
	key := refKey("asset", dom, repo, ref) + "\x00" + version + "\x00" + name
	gen := d.cache.gen.Load()
	if e, ok := d.cache.lru.Get(key); ok && e.gen == gen {
		av := e.val.(assetAnswer)
		av.v.Licenses = slices.Clone(av.v.Licenses)
		return av.a, av.v, nil
	}
	a, v, err := d.getAsset(ctx, dom, repo, ref, version, name)
	if err == nil && d.cache.gen.Load() == gen {
		c := assetAnswer{a, v}
		c.v.Licenses = slices.Clone(v.Licenses)
		d.cache.lru.Add(key, cacheEntry{gen: gen, val: c})
	}
	return a, v, err
}

// assetAnswer is a cached answer of GetAsset.
type assetAnswer struct {
	a domain.Asset
	v domain.PackageVersion
}

func (d *DB) getAsset(ctx context.Context, dom, repo string, ref domain.PackageRef, version, name string) (domain.Asset, domain.PackageVersion, error) {
	id, v, err := d.readVersionRef(ctx, dom, repo, ref, version)
	if err != nil {
		return domain.Asset{}, v, err
	}
	var a domain.Asset
	err = d.db.QueryRowContext(ctx, `SELECT a.name, b.size, b.md5, b.sha1, b.sha256, b.sha512 FROM assets a JOIN blobs b ON b.sha256 = a.sha256
		WHERE a.version_id = ? AND a.name = ?`, id, name).Scan(&a.Name, &a.Size, &a.Hashes.MD5, &a.Hashes.SHA1, &a.Hashes.SHA256, &a.Hashes.SHA512)
	if err == sql.ErrNoRows {
		return a, v, domain.NotFound("asset", name)
	}
	return a, v, err
}
