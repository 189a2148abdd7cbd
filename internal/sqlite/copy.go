package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/artifactd/registry/internal/domain"
)

// CopyVersions copies version records and asset references (never blob
// bytes) from one repository to another. Each version succeeds or fails on
// its own; an existing destination version is ALREADY_EXISTS unless
// AllowOverwrite. With IncludeFromUpstream a version the source does not
// hold is taken from the first repository of the source's search order
// (domain.Graph.SearchOrder, repositories only) that holds it.
func (d *DB) CopyVersions(ctx context.Context, in domain.CopyInput) (domain.BatchResult, error) {
	res := domain.BatchResult{OK: map[string]domain.VersionResult{}, Failed: map[string]domain.VersionFailure{}}
	err := d.tx(ctx, func(tx *sql.Tx) error {
		srid, err := repoID(ctx, tx, in.Domain, in.Source)
		if err != nil {
			return err
		}
		drid, err := repoID(ctx, tx, in.Domain, in.Dest)
		if err != nil {
			return err
		}
		hops, err := copySources(ctx, tx, in, srid)
		if err != nil {
			return err
		}
		dpid, err := ensurePackage(ctx, tx, drid, in.Ref)
		if err != nil {
			return err
		}
		for _, ver := range (domain.BatchInput{Versions: in.Versions, Revisions: in.Revisions}).AllVersions() {
			var sid, spid int64
			var v domain.PackageVersion
			err := sql.ErrNoRows
			for _, pid := range hops {
				if pid == dpid { // the destination sits upstream of the source
					continue
				}
				if sid, v, err = findVersion(ctx, tx, pid, in.Ref, ver); err != sql.ErrNoRows {
					spid = pid
					break
				}
			}
			if err == sql.ErrNoRows {
				res.Failed[ver] = domain.VersionFailure{Code: domain.CodeNotFound, Message: "package version " + ver + " does not exist in " + in.Source}
				continue
			}
			if err != nil {
				return err
			}
			if want, ok := in.Revisions[ver]; ok && want != v.Revision {
				res.Failed[ver] = domain.VersionFailure{Code: domain.CodeMismatchedRevision, Message: fmt.Sprintf("revision %s does not match current revision %s", want, v.Revision)}
				continue
			}
			if v.Status == domain.StatusDisposed {
				res.Failed[ver] = domain.VersionFailure{Code: domain.CodeNotAllowed, Message: "a Disposed version cannot be copied"}
				continue
			}
			var did int64
			err = tx.QueryRowContext(ctx, `SELECT id FROM package_versions WHERE package_id = ? AND version = ?`, dpid, ver).Scan(&did)
			if err == nil && !in.AllowOverwrite {
				res.Failed[ver] = domain.VersionFailure{Code: domain.CodeAlreadyExists, Message: "package version " + ver + " already exists in " + in.Dest}
				continue
			}
			if err == nil {
				if _, err := tx.ExecContext(ctx, `DELETE FROM package_versions WHERE id = ?`, did); err != nil {
					return err
				}
			} else if err != sql.ErrNoRows {
				return err
			}
			r, err := tx.ExecContext(ctx, `INSERT INTO package_versions(package_id, version, status, revision, display_name, summary, home_page,
				source_code_repository, licenses, readme, metadata, origin_type, origin_repository, origin_external, published_at, updated_at)
				SELECT ?, version, status, revision, display_name, summary, home_page, source_code_repository, licenses, readme, metadata,
				origin_type, origin_repository, origin_external, published_at, ? FROM package_versions WHERE id = ?`, dpid, now(), sid)
			if err != nil {
				return fmt.Errorf("sqlite: copy version: %w", err)
			}
			nid, _ := r.LastInsertId()
			if _, err := tx.ExecContext(ctx, `INSERT INTO assets(version_id, name, sha256, created_at) SELECT ?, name, sha256, created_at FROM assets WHERE version_id = ?`, nid, sid); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO dependencies(version_id, position, namespace, name, dependency_type, version_requirement)
				SELECT ?, position, namespace, name, dependency_type, version_requirement FROM dependencies WHERE version_id = ?`, nid, sid); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO dist_tags(package_id, tag, version) SELECT ?, tag, version FROM dist_tags WHERE package_id = ? AND version = ?`, dpid, spid, ver); err != nil {
				return err
			}
			res.OK[ver] = domain.VersionResult{Revision: v.Revision, Status: v.Status}
		}
		if len(res.OK) > 0 {
			return bumpPackage(ctx, tx, dpid)
		}
		return nil
	})
	return res, err
}

// copySources returns the ids of the package in the repositories a copy
// takes versions from, in priority order: the source alone, or with
// IncludeFromUpstream every repository of its search order holding the
// package. ErrNotFound when none holds it.
func copySources(ctx context.Context, tx *sql.Tx, in domain.CopyInput, srid int64) ([]int64, error) {
	if !in.IncludeFromUpstream {
		pid, err := packageID(ctx, tx, srid, in.Ref)
		if err != nil {
			return nil, err
		}
		return []int64{pid}, nil
	}
	g, err := graph(ctx, tx, in.Domain)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, h := range g.SearchOrder(in.Source) {
		if h.ExternalConnection != "" {
			continue
		}
		rid, err := repoID(ctx, tx, in.Domain, h.Repository)
		if err != nil {
			return nil, err
		}
		pid, err := packageID(ctx, tx, rid, in.Ref)
		if domain.KindOf(err) == domain.ErrNotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, pid)
	}
	if len(out) == 0 {
		return nil, domain.NotFound("package", refString(in.Ref))
	}
	return out, nil
}
