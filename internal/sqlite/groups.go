package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/artifactd/registry/internal/domain"
)

// Package groups live in package_groups (one row per created group, plus
// the root /* once its settings change) and package_group_allowed. Reads
// happen on every format request that may reach an external connection
// and on every publish of a new package, so each domain's groups are kept
// in memory as a domain.GroupTree, dropped whenever a group of any domain
// changes or a domain is deleted.

// groupCache holds the group tree of each domain. A load that raced with
// a change (the generation moved while it read) is returned but not kept.
type groupCache struct {
	mu    sync.Mutex
	gen   uint64
	trees map[string]*domain.GroupTree
}

func (c *groupCache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.trees = nil
	c.mu.Unlock()
}

// GroupTree returns the package groups of a domain; ErrNotFound for an
// unknown domain.
func (d *DB) GroupTree(ctx context.Context, dom string) (*domain.GroupTree, error) {
	c := &d.groups
	c.mu.Lock()
	if t, ok := c.trees[dom]; ok {
		c.mu.Unlock()
		return t, nil
	}
	gen := c.gen
	c.mu.Unlock()
	t, err := loadGroups(ctx, d.ro, dom)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if c.trees == nil {
			c.trees = map[string]*domain.GroupTree{}
		}
		c.trees[dom] = t
	}
	c.mu.Unlock()
	return t, nil
}

var groupModeCols = map[domain.GroupRestrictionType]string{
	domain.RestrictPublish:          "publish",
	domain.RestrictExternalUpstream: "external_upstream",
	domain.RestrictInternalUpstream: "internal_upstream",
}

func loadGroups(ctx context.Context, q querier, dom string) (*domain.GroupTree, error) {
	var did, created int64
	err := q.QueryRowContext(ctx, `SELECT id, created_at FROM domains WHERE name = ?`, dom).Scan(&did, &created)
	if err == sql.ErrNoRows {
		return nil, domain.NotFound("domain", dom)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: package groups: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT id, pattern, description, contact_info, publish, external_upstream, internal_upstream, created_at
		FROM package_groups WHERE domain_id = ?`, did)
	if err != nil {
		return nil, fmt.Errorf("sqlite: package groups: %w", err)
	}
	byID := map[int64]*domain.PackageGroup{}
	var ids []int64
	for rows.Next() {
		var id, at int64
		var pattern string
		var pub, ext, in string
		g := domain.PackageGroup{Domain: dom, Allowed: map[domain.GroupRestrictionType][]string{}}
		if err := rows.Scan(&id, &pattern, &g.Description, &g.ContactInfo, &pub, &ext, &in, &at); err != nil {
			rows.Close()
			return nil, err
		}
		p, err := domain.ParseGroupPattern(pattern)
		if err != nil { // stored patterns were validated; skip rather than fail every request
			continue
		}
		g.Pattern, g.CreatedAt = p, fromMillis(at)
		g.Modes = map[domain.GroupRestrictionType]domain.GroupMode{
			domain.RestrictPublish: domain.GroupMode(pub), domain.RestrictExternalUpstream: domain.GroupMode(ext),
			domain.RestrictInternalUpstream: domain.GroupMode(in)}
		byID[id] = &g
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT a.group_id, a.restriction_type, a.repository FROM package_group_allowed a
		JOIN package_groups g ON g.id = a.group_id WHERE g.domain_id = ? ORDER BY a.repository`, did)
	if err != nil {
		return nil, fmt.Errorf("sqlite: package groups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var rt, repo string
		if err := rows.Scan(&id, &rt, &repo); err != nil {
			return nil, err
		}
		if g := byID[id]; g != nil {
			g.Allowed[domain.GroupRestrictionType(rt)] = append(g.Allowed[domain.GroupRestrictionType(rt)], repo)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	gs := make([]domain.PackageGroup, 0, len(ids))
	for _, id := range ids {
		gs = append(gs, *byID[id])
	}
	return domain.NewGroupTree(gs, domain.DefaultRootGroup(dom, fromMillis(created))), nil
}

// groupTx runs fn in a write transaction and drops the cached groups
// after it (whether or not it committed).
func (d *DB) groupTx(ctx context.Context, fn func(*sql.Tx) error) error {
	defer d.groups.invalidate()
	return d.rawTx(ctx, fn)
}

// CreatePackageGroup creates a group; ErrConflict if one with the same
// pattern exists (the root /* always does).
func (d *DB) CreatePackageGroup(ctx context.Context, g domain.PackageGroup) (domain.PackageGroup, error) {
	if g.Pattern.Kind == domain.GroupAll {
		return g, domain.Conflict("package-group", domain.RootGroupPattern, "package group /* already exists in domain %s", g.Domain)
	}
	err := d.groupTx(ctx, func(tx *sql.Tx) error {
		did, err := domainID(ctx, tx, g.Domain)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO package_groups(domain_id, pattern, description, contact_info, created_at) VALUES (?, ?, ?, ?, ?)`,
			did, g.Pattern.String(), g.Description, g.ContactInfo, now())
		if isUnique(err) {
			return domain.Conflict("package-group", g.Pattern.String(), "package group %s already exists in domain %s", g.Pattern, g.Domain)
		}
		return err
	})
	if err != nil {
		return g, err
	}
	return d.PackageGroup(ctx, g.Domain, g.Pattern.String())
}

// PackageGroup returns one group by canonical pattern; ErrNotFound when
// the domain or the group does not exist.
func (d *DB) PackageGroup(ctx context.Context, dom, pattern string) (domain.PackageGroup, error) {
	t, err := d.GroupTree(ctx, dom)
	if err != nil {
		return domain.PackageGroup{}, err
	}
	g, ok := t.Get(pattern)
	if !ok {
		return g, domain.NotFound("package-group", pattern)
	}
	return g, nil
}

// ensureGroupRow returns the row id of a group, creating the row of the
// root /* (with its defaults) on first change; ErrNotFound otherwise.
func ensureGroupRow(ctx context.Context, tx *sql.Tx, dom, pattern string) (int64, error) {
	did, err := domainID(ctx, tx, dom)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM package_groups WHERE domain_id = ? AND pattern = ?`, did, pattern).Scan(&id)
	if err == sql.ErrNoRows && pattern == domain.RootGroupPattern {
		var created int64
		if err := tx.QueryRowContext(ctx, `SELECT created_at FROM domains WHERE id = ?`, did).Scan(&created); err != nil {
			return 0, err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO package_groups(domain_id, pattern, publish, external_upstream, internal_upstream, created_at)
			VALUES (?, ?, 'ALLOW', 'ALLOW', 'ALLOW', ?)`, did, pattern, created)
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	if err == sql.ErrNoRows {
		return 0, domain.NotFound("package-group", pattern)
	}
	return id, err
}

// UpdatePackageGroup changes a group's description and contact
// information; a nil field is left as it is.
func (d *DB) UpdatePackageGroup(ctx context.Context, dom, pattern string, description, contactInfo *string) (domain.PackageGroup, error) {
	err := d.groupTx(ctx, func(tx *sql.Tx) error {
		id, err := ensureGroupRow(ctx, tx, dom, pattern)
		if err != nil {
			return err
		}
		if description != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE package_groups SET description = ? WHERE id = ?`, *description, id); err != nil {
				return err
			}
		}
		if contactInfo != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE package_groups SET contact_info = ? WHERE id = ?`, *contactInfo, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return domain.PackageGroup{}, err
	}
	return d.PackageGroup(ctx, dom, pattern)
}

// UpdatePackageGroupOrigin sets restriction modes and edits the allowed
// repository lists of a group. Added and removed report the repositories
// each list actually gained and lost. INHERIT is refused on the root; an
// allowed repository must exist in the domain.
func (d *DB) UpdatePackageGroupOrigin(ctx context.Context, dom, pattern string, u domain.GroupUpdate) (g domain.PackageGroup, added, removed map[domain.GroupRestrictionType][]string, err error) {
	added, removed = map[domain.GroupRestrictionType][]string{}, map[domain.GroupRestrictionType][]string{}
	err = d.groupTx(ctx, func(tx *sql.Tx) error {
		id, err := ensureGroupRow(ctx, tx, dom, pattern)
		if err != nil {
			return err
		}
		for _, rt := range domain.GroupRestrictionTypes {
			m, ok := u.Modes[rt]
			if !ok {
				continue
			}
			if m == domain.ModeInherit && pattern == domain.RootGroupPattern {
				return domain.Invalid("restrictions: the root package group /* cannot INHERIT")
			}
			if _, err := tx.ExecContext(ctx, `UPDATE package_groups SET `+groupModeCols[rt]+` = ? WHERE id = ?`, string(m), id); err != nil {
				return err
			}
		}
		for _, rt := range domain.GroupRestrictionTypes {
			for _, repo := range u.Add[rt] {
				if _, err := repoID(ctx, tx, dom, repo); err != nil {
					return err
				}
				res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO package_group_allowed(group_id, restriction_type, repository) VALUES (?, ?, ?)`, id, string(rt), repo)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n > 0 {
					added[rt] = append(added[rt], repo)
				}
			}
			for _, repo := range u.Remove[rt] {
				res, err := tx.ExecContext(ctx, `DELETE FROM package_group_allowed WHERE group_id = ? AND restriction_type = ? AND repository = ?`, id, string(rt), repo)
				if err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n > 0 {
					removed[rt] = append(removed[rt], repo)
				}
			}
		}
		return nil
	})
	if err != nil {
		return g, nil, nil, err
	}
	g, err = d.PackageGroup(ctx, dom, pattern)
	return g, added, removed, err
}

// DeletePackageGroup deletes a group and returns it as it was; its
// children become children of its parent (CodeArtifact's behaviour). The
// root /* cannot be deleted.
func (d *DB) DeletePackageGroup(ctx context.Context, dom, pattern string) (domain.PackageGroup, error) {
	if pattern == domain.RootGroupPattern {
		return domain.PackageGroup{}, domain.Invalid("packageGroup: the root package group /* cannot be deleted")
	}
	g, err := d.PackageGroup(ctx, dom, pattern)
	if err != nil {
		return g, err
	}
	err = d.groupTx(ctx, func(tx *sql.Tx) error {
		did, err := domainID(ctx, tx, dom)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM package_groups WHERE domain_id = ? AND pattern = ?`, did, pattern)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return domain.NotFound("package-group", pattern)
		}
		return nil
	})
	return g, err
}

// DomainPackages returns every distinct package (format, namespace, name)
// held by any repository of a domain, sorted.
func (d *DB) DomainPackages(ctx context.Context, dom string) ([]domain.PackageRef, error) {
	did, err := domainID(ctx, d.ro, dom)
	if err != nil {
		return nil, err
	}
	rows, err := d.ro.QueryContext(ctx, `SELECT DISTINCT p.format, p.namespace, p.name FROM packages p JOIN repositories r ON r.id = p.repository_id
		WHERE r.domain_id = ? ORDER BY p.format, p.namespace, p.name`, did)
	if err != nil {
		return nil, fmt.Errorf("sqlite: domain packages: %w", err)
	}
	defer rows.Close()
	var out []domain.PackageRef
	for rows.Next() {
		var r domain.PackageRef
		if err := rows.Scan(&r.Format, &r.Namespace, &r.Name); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ExternalUpstreamAllowed reports whether the package group governing ref
// lets repository repo take ref from external connections: the
// EXTERNAL_UPSTREAM restriction of ref's most specific group, INHERIT
// resolved up its parents (the root allows everything unless changed).
func (d *DB) ExternalUpstreamAllowed(ctx context.Context, dom, repo string, ref domain.PackageRef) (bool, error) {
	t, err := d.GroupTree(ctx, dom)
	if err != nil {
		return false, err
	}
	return t.Restriction(ref, domain.RestrictExternalUpstream).Allows(repo), nil
}

// InternalUpstreamAllowed reports whether the package group governing ref
// lets repository repo retain ref's versions from its upstream
// repositories: the INTERNAL_UPSTREAM restriction, resolved as
// ExternalUpstreamAllowed resolves EXTERNAL_UPSTREAM.
func (d *DB) InternalUpstreamAllowed(ctx context.Context, dom, repo string, ref domain.PackageRef) (bool, error) {
	t, err := d.GroupTree(ctx, dom)
	if err != nil {
		return false, err
	}
	return t.Restriction(ref, domain.RestrictInternalUpstream).Allows(repo), nil
}

// checkGroupPublish refuses creating package ref in repository repo by a
// publish when its package group's PUBLISH restriction does not allow
// repo.
func (d *DB) checkGroupPublish(ctx context.Context, dom, repo string, ref domain.PackageRef) error {
	t, err := d.GroupTree(ctx, dom)
	if err != nil {
		return err
	}
	e := t.Restriction(ref, domain.RestrictPublish)
	if e.Allows(repo) {
		return nil
	}
	g := t.Associated(ref).Pattern.String()
	if e.From != "" {
		g = e.From
	}
	return domain.Errorf(domain.ErrForbidden, "publishing package %s to repository %s is blocked by the origin configuration of package group %s", refString(ref), repo, g)
}

// ensurePublishPackage is ensurePackage for a publish: creating a new
// package first checks its package group's PUBLISH restriction.
func (d *DB) ensurePublishPackage(ctx context.Context, tx *sql.Tx, rid int64, dom, repo string, ref domain.PackageRef) (int64, error) {
	id, err := packageID(ctx, tx, rid, ref)
	if err == nil {
		return id, nil
	}
	if domain.KindOf(err) != domain.ErrNotFound {
		return 0, err
	}
	if err := d.checkGroupPublish(ctx, dom, repo, ref); err != nil {
		return 0, err
	}
	return ensurePackage(ctx, tx, rid, ref)
}
