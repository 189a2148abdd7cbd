package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/artifactd/registry/internal/domain"
)

type versionRow struct {
	id int64
	v  domain.PackageVersion
}

// batch runs op over the selected versions all-or-nothing: when any version
// fails its checks nothing is written and the others are reported SKIPPED.
// check returns a failure code and message, or "" to proceed; apply changes
// one version and returns its new status.
func (d *DB) batch(ctx context.Context, in domain.BatchInput, check func(domain.PackageVersion) (string, string), apply func(tx *sql.Tx, r versionRow) (domain.Status, error)) (domain.BatchResult, error) {
	res := domain.BatchResult{OK: map[string]domain.VersionResult{}, Failed: map[string]domain.VersionFailure{}}
	err := d.tx(ctx, func(tx *sql.Tx) error {
		rid, err := repoID(ctx, tx, in.Domain, in.Repository)
		if err != nil {
			return err
		}
		pid, err := packageID(ctx, tx, rid, in.Ref)
		if err != nil {
			return err
		}
		var rows []versionRow
		for _, ver := range in.AllVersions() {
			id, v, err := findVersion(ctx, tx, pid, in.Ref, ver)
			if err == sql.ErrNoRows {
				res.Failed[ver] = domain.VersionFailure{Code: domain.CodeNotFound, Message: fmt.Sprintf("package version %s does not exist", ver)}
				continue
			}
			if err != nil {
				return err
			}
			if want, ok := in.Revisions[ver]; ok && want != v.Revision {
				res.Failed[ver] = domain.VersionFailure{Code: domain.CodeMismatchedRevision, Message: fmt.Sprintf("revision %s does not match current revision %s", want, v.Revision)}
				continue
			}
			if in.ExpectedStatus != "" && v.Status != in.ExpectedStatus {
				res.Failed[ver] = domain.VersionFailure{Code: domain.CodeMismatchedStatus, Message: fmt.Sprintf("status %s does not match expected status %s", v.Status, in.ExpectedStatus)}
				continue
			}
			if code, msg := check(v); code != "" {
				res.Failed[ver] = domain.VersionFailure{Code: code, Message: msg}
				continue
			}
			rows = append(rows, versionRow{id, v})
		}
		if len(res.Failed) > 0 {
			for _, r := range rows {
				res.Failed[r.v.Version] = domain.VersionFailure{Code: domain.CodeSkipped, Message: "skipped because another version in the request failed"}
			}
			return nil
		}
		if len(rows) > 0 {
			if err := bumpPackage(ctx, tx, pid); err != nil {
				return err
			}
		}
		for _, r := range rows {
			st, err := apply(tx, r)
			if err != nil {
				return err
			}
			rev := r.v.Revision
			if st != domain.StatusDeleted {
				if err := tx.QueryRowContext(ctx, `SELECT revision FROM package_versions WHERE id = ?`, r.id).Scan(&rev); err != nil {
					return err
				}
			}
			res.OK[r.v.Version] = domain.VersionResult{Revision: rev, Status: st}
		}
		return nil
	})
	return res, err
}

// UpdateStatus sets the status of versions (Published, Unlisted, Archived).
func (d *DB) UpdateStatus(ctx context.Context, in domain.BatchInput, target domain.Status) (domain.BatchResult, error) {
	if !domain.ValidTargetStatus(target) {
		return domain.BatchResult{}, domain.Invalid("targetStatus %s is not one of Published, Unlisted, Archived", target)
	}
	check := func(v domain.PackageVersion) (string, string) {
		if ok, code := domain.CanTransition(v.Status, target); !ok {
			return code, fmt.Sprintf("cannot change status from %s to %s", v.Status, target)
		}
		return "", ""
	}
	return d.batch(ctx, in, check, func(tx *sql.Tx, r versionRow) (domain.Status, error) {
		if r.v.Status == target {
			return target, nil
		}
		t := now()
		_, err := tx.ExecContext(ctx, `UPDATE package_versions SET status = ?, revision = ?, updated_at = ? WHERE id = ?`, target, newRevision(), t, r.id)
		return target, err
	})
}

// DisposeVersions sets versions to Disposed and detaches their assets
// (the blobs are collected by gc once nothing references them).
func (d *DB) DisposeVersions(ctx context.Context, in domain.BatchInput) (domain.BatchResult, error) {
	check := func(v domain.PackageVersion) (string, string) {
		if ok, code := domain.CanDispose(v.Status); !ok {
			return code, "cannot dispose a " + string(v.Status) + " version"
		}
		return "", ""
	}
	return d.batch(ctx, in, check, func(tx *sql.Tx, r versionRow) (domain.Status, error) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM assets WHERE version_id = ?`, r.id); err != nil {
			return "", err
		}
		_, err := tx.ExecContext(ctx, `UPDATE package_versions SET status = 'Disposed', revision = ?, updated_at = ? WHERE id = ?`, newRevision(), now(), r.id)
		return domain.StatusDisposed, err
	})
}

// DeleteVersions deletes versions permanently; they may be published again.
func (d *DB) DeleteVersions(ctx context.Context, in domain.BatchInput) (domain.BatchResult, error) {
	none := func(domain.PackageVersion) (string, string) { return "", "" }
	return d.batch(ctx, in, none, func(tx *sql.Tx, r versionRow) (domain.Status, error) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dist_tags WHERE package_id = (SELECT package_id FROM package_versions WHERE id = ?) AND version = ?`, r.id, r.v.Version); err != nil {
			return "", err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM package_versions WHERE id = ?`, r.id)
		return domain.StatusDeleted, err
	})
}

// DeletePackage deletes a package with all its versions and returns it.
func (d *DB) DeletePackage(ctx context.Context, dom, repo string, ref domain.PackageRef) (domain.Package, error) {
	var out domain.Package
	err := d.tx(ctx, func(tx *sql.Tx) error {
		rid, err := repoID(ctx, tx, dom, repo)
		if err != nil {
			return err
		}
		pid, err := packageID(ctx, tx, rid, ref)
		if err != nil {
			return err
		}
		out.PackageRef = ref
		if err := tx.QueryRowContext(ctx, `SELECT publish, upstream FROM packages WHERE id = ?`, pid).Scan(&out.Publish, &out.Upstream); err != nil {
			return err
		}
		// Delete the versions first and turn them into events while the
		// package row still names them: one Deleted event per version.
		if _, err := tx.ExecContext(ctx, `DELETE FROM package_versions WHERE package_id = ?`, pid); err != nil {
			return err
		}
		if err := d.flushEvents(ctx, tx); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM packages WHERE id = ?`, pid)
		return err
	})
	return out, err
}
