package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/artifactd/registry/internal/domain"
)

// CreateRepository creates a repository with an ordered upstream list.
func (d *DB) CreateRepository(ctx context.Context, dom, name, description, administrator string, upstreams []string) (domain.Repository, error) {
	err := d.tx(ctx, func(tx *sql.Tx) error {
		did, err := domainID(ctx, tx, dom)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO repositories(domain_id, name, description, administrator, created_at) VALUES (?, ?, ?, ?, ?)`,
			did, name, description, administrator, now())
		if isUnique(err) {
			return &domain.Error{Kind: domain.ErrAlreadyExists, Msg: "repository " + name + " already exists in domain " + dom, ResourceType: "repository", ResourceID: name}
		}
		if err != nil {
			return err
		}
		id, _ := res.LastInsertId()
		return setUpstreams(ctx, tx, dom, did, id, name, upstreams)
	})
	if err != nil {
		return domain.Repository{}, err
	}
	return d.GetRepository(ctx, dom, name)
}

// setUpstreams replaces the upstream list of repository id, rejecting
// unknown repositories, duplicates, self references and cycles.
func setUpstreams(ctx context.Context, tx *sql.Tx, dom string, did, id int64, name string, upstreams []string) error {
	if len(upstreams) > domain.MaxUpstreams {
		return domain.Errorf(domain.ErrQuotaExceeded, "a repository can have at most %d upstream repositories", domain.MaxUpstreams)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM upstreams WHERE repository_id = ?`, id); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, u := range upstreams {
		if seen[u] {
			return domain.Invalid("upstream repository %s is listed twice", u)
		}
		seen[u] = true
		var uid int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM repositories WHERE domain_id = ? AND name = ?`, did, u).Scan(&uid)
		if err == sql.ErrNoRows {
			return domain.NotFound("repository", u)
		}
		if err != nil {
			return err
		}
		if uid == id {
			return domain.Invalid("repository %s cannot be its own upstream", name)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO upstreams(repository_id, position, upstream_id) VALUES (?, ?, ?)`, id, i, uid); err != nil {
			return err
		}
	}
	// A cycle exists if id is reachable from itself through upstream edges.
	var cyc int
	err := tx.QueryRowContext(ctx, `WITH RECURSIVE reach(rid) AS (
			SELECT upstream_id FROM upstreams WHERE repository_id = ?
			UNION SELECT u.upstream_id FROM upstreams u JOIN reach ON u.repository_id = reach.rid)
		SELECT COUNT(*) FROM reach WHERE rid = ?`, id, id).Scan(&cyc)
	if err != nil {
		return err
	}
	if cyc > 0 {
		return domain.Invalid("upstream list of %s would create a cycle", name)
	}
	return nil
}

// GetRepository returns a repository with its upstreams in order.
func (d *DB) GetRepository(ctx context.Context, dom, name string) (domain.Repository, error) {
	return cachedRead(d, cacheKey("repository", dom, name), cloneRepository, func() (domain.Repository, error) {
		id, err := d.readRepoID(ctx, dom, name)
		if err != nil {
			return domain.Repository{}, err
		}
		return getRepository(ctx, d.db, id)
	})
}

func getRepository(ctx context.Context, q querier, id int64) (domain.Repository, error) {
	var r domain.Repository
	var created int64
	err := q.QueryRowContext(ctx, `SELECT d.name, r.name, r.description, r.administrator, r.external_connection, r.created_at
		FROM repositories r JOIN domains d ON d.id = r.domain_id WHERE r.id = ?`, id).
		Scan(&r.Domain, &r.Name, &r.Description, &r.Administrator, &r.ExternalConnection, &created)
	if err != nil {
		return r, fmt.Errorf("sqlite: get repository: %w", err)
	}
	r.CreatedAt = fromMillis(created)
	rows, err := q.QueryContext(ctx, `SELECT u.name FROM upstreams x JOIN repositories u ON u.id = x.upstream_id WHERE x.repository_id = ? ORDER BY x.position`, id)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return r, err
		}
		r.Upstreams = append(r.Upstreams, n)
	}
	return r, rows.Err()
}

// UpdateRepository changes the description and/or replaces the upstream
// list (nil pointers leave a field unchanged).
func (d *DB) UpdateRepository(ctx context.Context, dom, name string, description *string, upstreams *[]string) (domain.Repository, error) {
	var out domain.Repository
	err := d.tx(ctx, func(tx *sql.Tx) error {
		did, err := domainID(ctx, tx, dom)
		if err != nil {
			return err
		}
		id, err := repoID(ctx, tx, dom, name)
		if err != nil {
			return err
		}
		if description != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE repositories SET description = ? WHERE id = ?`, *description, id); err != nil {
				return err
			}
		}
		if upstreams != nil {
			if err := setUpstreams(ctx, tx, dom, did, id, name, *upstreams); err != nil {
				return err
			}
		}
		out, err = getRepository(ctx, tx, id)
		return err
	})
	return out, err
}

// DeleteRepository deletes a repository and everything in it. It is a
// conflict while another repository lists it as an upstream.
func (d *DB) DeleteRepository(ctx context.Context, dom, name string) (domain.Repository, error) {
	var out domain.Repository
	err := d.tx(ctx, func(tx *sql.Tx) error {
		id, err := repoID(ctx, tx, dom, name)
		if err != nil {
			return err
		}
		if out, err = getRepository(ctx, tx, id); err != nil {
			return err
		}
		var down string
		err = tx.QueryRowContext(ctx, `SELECT r.name FROM upstreams x JOIN repositories r ON r.id = x.repository_id WHERE x.upstream_id = ? LIMIT 1`, id).Scan(&down)
		if err == nil {
			return domain.Conflict("repository", name, "repository %s is an upstream of %s; remove it from that upstream list first", name, down)
		}
		if err != sql.ErrNoRows {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM repositories WHERE id = ?`, id)
		return err
	})
	return out, err
}

// ListRepositories lists repositories ordered by domain and name.
func (d *DB) ListRepositories(ctx context.Context, f domain.RepositoryFilter, p domain.Page) ([]domain.Repository, string, error) {
	after, err := untoken(p.After)
	if err != nil {
		return nil, "", err
	}
	if f.Domain != "" {
		if _, err := d.readDomainID(ctx, f.Domain); err != nil {
			return nil, "", err
		}
	}
	rows, err := d.db.QueryContext(ctx, `SELECT r.id, d.name || '/' || r.name FROM repositories r JOIN domains d ON d.id = r.domain_id
		WHERE (? = '' OR d.name = ?) AND instr(r.name, ?) = 1 AND d.name || '/' || r.name > ?
		ORDER BY d.name || '/' || r.name LIMIT ?`, f.Domain, f.Domain, f.Prefix, after, p.Size()+1)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list repositories: %w", err)
	}
	var ids []int64
	var keys []string
	for rows.Next() {
		var id int64
		var k string
		if err := rows.Scan(&id, &k); err != nil {
			rows.Close()
			return nil, "", err
		}
		ids, keys = append(ids, id), append(keys, k)
	}
	rows.Close()
	next := ""
	if len(ids) > p.Size() {
		ids, keys = ids[:p.Size()], keys[:p.Size()]
		next = token(keys[len(keys)-1])
	}
	out := make([]domain.Repository, 0, len(ids))
	for _, id := range ids {
		r, err := getRepository(ctx, d.db, id)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r)
	}
	return out, next, nil
}

// SetExternalConnection sets (conn != "") or clears the external connection
// of a repository. A repository has at most one; clearing one that is not
// set is ErrNotFound.
func (d *DB) SetExternalConnection(ctx context.Context, dom, name, conn string, clear bool) (domain.Repository, error) {
	var out domain.Repository
	err := d.tx(ctx, func(tx *sql.Tx) error {
		id, err := repoID(ctx, tx, dom, name)
		if err != nil {
			return err
		}
		var cur string
		if err := tx.QueryRowContext(ctx, `SELECT external_connection FROM repositories WHERE id = ?`, id).Scan(&cur); err != nil {
			return err
		}
		switch {
		case clear && cur != conn:
			return domain.NotFound("external-connection", conn)
		case !clear && cur == conn:
			return &domain.Error{Kind: domain.ErrAlreadyExists, Msg: "external connection " + conn + " is already associated with " + name, ResourceType: "repository", ResourceID: name}
		case !clear && cur != "":
			return domain.Errorf(domain.ErrQuotaExceeded, "repository %s already has external connection %s; a repository can have only one", name, cur)
		}
		next := conn
		if clear {
			next = ""
		}
		if _, err := tx.ExecContext(ctx, `UPDATE repositories SET external_connection = ? WHERE id = ?`, next, id); err != nil {
			return err
		}
		out, err = getRepository(ctx, tx, id)
		return err
	})
	return out, err
}
