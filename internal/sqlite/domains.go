package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/artifactd/registry/internal/domain"
)

// CreateDomain creates a domain; ErrAlreadyExists if the name is taken.
func (d *DB) CreateDomain(ctx context.Context, name, encryptionKey string) (domain.Domain, error) {
	_, err := d.exec(ctx, `INSERT INTO domains(name, encryption_key, created_at) VALUES (?, ?, ?)`, name, encryptionKey, now())
	if isUnique(err) {
		return domain.Domain{}, &domain.Error{Kind: domain.ErrAlreadyExists, Msg: "domain " + name + " already exists", ResourceType: "domain", ResourceID: name}
	}
	if err != nil {
		return domain.Domain{}, fmt.Errorf("sqlite: create domain: %w", err)
	}
	return d.GetDomain(ctx, name)
}

const domainCols = `d.name, d.encryption_key, d.created_at,
	(SELECT COUNT(*) FROM repositories r WHERE r.domain_id = d.id),
	(SELECT COALESCE(SUM(b.size), 0) FROM blobs b WHERE b.sha256 IN (
		SELECT a.sha256 FROM assets a
		JOIN package_versions v ON v.id = a.version_id
		JOIN packages p ON p.id = v.package_id
		JOIN repositories r ON r.id = p.repository_id
		WHERE r.domain_id = d.id))`

func scanDomain(row interface{ Scan(...any) error }) (domain.Domain, error) {
	var x domain.Domain
	var created int64
	err := row.Scan(&x.Name, &x.EncryptionKey, &created, &x.RepositoryCount, &x.AssetSizeBytes)
	x.CreatedAt = fromMillis(created)
	return x, err
}

// GetDomain returns a domain with its repository count and the size of the
// distinct blobs its repositories reference (each blob counted once).
func (d *DB) GetDomain(ctx context.Context, name string) (domain.Domain, error) {
	x, err := scanDomain(d.db.QueryRowContext(ctx, `SELECT `+domainCols+` FROM domains d WHERE d.name = ?`, name))
	if err == sql.ErrNoRows {
		return x, domain.NotFound("domain", name)
	}
	if err != nil {
		return x, fmt.Errorf("sqlite: get domain: %w", err)
	}
	return x, nil
}

// ListDomains lists domains by name.
func (d *DB) ListDomains(ctx context.Context, p domain.Page) ([]domain.Domain, string, error) {
	after, err := untoken(p.After)
	if err != nil {
		return nil, "", err
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+domainCols+` FROM domains d WHERE d.name > ? ORDER BY d.name LIMIT ?`, after, p.Size()+1)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list domains: %w", err)
	}
	defer rows.Close()
	var out []domain.Domain
	for rows.Next() {
		x, err := scanDomain(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, x)
	}
	next := ""
	if len(out) > p.Size() {
		out = out[:p.Size()]
		next = token(out[len(out)-1].Name)
	}
	return out, next, rows.Err()
}

// DeleteDomain deletes a domain; ErrConflict while it has repositories.
// Deleting a missing domain is not an error (CodeArtifact's behaviour) and
// returns a zero Domain.
func (d *DB) DeleteDomain(ctx context.Context, name string) (domain.Domain, error) {
	var out domain.Domain
	defer d.groups.invalidate() // its package groups go with it
	err := d.tx(ctx, func(tx *sql.Tx) error {
		x, err := scanDomain(tx.QueryRowContext(ctx, `SELECT `+domainCols+` FROM domains d WHERE d.name = ?`, name))
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		if x.RepositoryCount > 0 {
			return domain.Conflict("domain", name, "domain %s still contains %d repositories; delete them first", name, x.RepositoryCount)
		}
		out = x
		_, err = tx.ExecContext(ctx, `DELETE FROM domains WHERE name = ?`, name)
		return err
	})
	return out, err
}

// policyTarget names the row holding a policy: a domain, or a repository
// when repo is non-empty.
func policyTarget(ctx context.Context, q querier, dom, repo string) (table string, id int64, err error) {
	if repo == "" {
		id, err = domainID(ctx, q, dom)
		return "domains", id, err
	}
	id, err = repoID(ctx, q, dom, repo)
	return "repositories", id, err
}

// PutPolicy stores the resource policy of a domain (repo == "") or a
// repository. A non-empty expectedRevision must match the current one.
func (d *DB) PutPolicy(ctx context.Context, dom, repo, document, expectedRevision string) (domain.Policy, error) {
	p := domain.Policy{Document: document, Revision: newRevision()}
	err := d.tx(ctx, func(tx *sql.Tx) error {
		table, id, err := policyTarget(ctx, tx, dom, repo)
		if err != nil {
			return err
		}
		var cur sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT policy_revision FROM `+table+` WHERE id = ?`, id).Scan(&cur); err != nil {
			return err
		}
		if expectedRevision != "" && cur.String != expectedRevision {
			return domain.Conflict("policy", dom+"/"+repo, "policy revision %s does not match the current revision", expectedRevision)
		}
		_, err = tx.ExecContext(ctx, `UPDATE `+table+` SET policy = ?, policy_revision = ? WHERE id = ?`, document, p.Revision, id)
		return err
	})
	return p, err
}

// GetPolicy returns the resource policy of a domain or repository;
// ErrNotFound when none is set.
func (d *DB) GetPolicy(ctx context.Context, dom, repo string) (domain.Policy, error) {
	return cachedRead(d, cacheKey("policy", dom, repo), nil, func() (domain.Policy, error) {
		return d.getPolicy(ctx, dom, repo)
	})
}

func (d *DB) getPolicy(ctx context.Context, dom, repo string) (domain.Policy, error) {
	var table string
	var id int64
	var err error
	if repo == "" {
		table = "domains"
		id, err = d.readDomainID(ctx, dom)
	} else {
		table = "repositories"
		id, err = d.readRepoID(ctx, dom, repo)
	}
	if err != nil {
		return domain.Policy{}, err
	}
	var doc, rev sql.NullString
	if err := d.db.QueryRowContext(ctx, `SELECT policy, policy_revision FROM `+table+` WHERE id = ?`, id).Scan(&doc, &rev); err != nil {
		return domain.Policy{}, err
	}
	if !doc.Valid {
		return domain.Policy{}, &domain.Error{Kind: domain.ErrNotFound, Msg: "no resource policy is set", ResourceType: "policy"}
	}
	return domain.Policy{Document: doc.String, Revision: rev.String}, nil
}

// DeletePolicy removes a resource policy and returns it; ErrNotFound when
// none is set.
func (d *DB) DeletePolicy(ctx context.Context, dom, repo, expectedRevision string) (domain.Policy, error) {
	var out domain.Policy
	err := d.tx(ctx, func(tx *sql.Tx) error {
		table, id, err := policyTarget(ctx, tx, dom, repo)
		if err != nil {
			return err
		}
		var doc, rev sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT policy, policy_revision FROM `+table+` WHERE id = ?`, id).Scan(&doc, &rev); err != nil {
			return err
		}
		if !doc.Valid {
			return &domain.Error{Kind: domain.ErrNotFound, Msg: "no resource policy is set", ResourceType: "policy"}
		}
		if expectedRevision != "" && rev.String != expectedRevision {
			return domain.Conflict("policy", dom+"/"+repo, "policy revision %s does not match the current revision", expectedRevision)
		}
		out = domain.Policy{Document: doc.String, Revision: rev.String}
		_, err = tx.ExecContext(ctx, `UPDATE `+table+` SET policy = NULL, policy_revision = NULL WHERE id = ?`, id)
		return err
	})
	return out, err
}
