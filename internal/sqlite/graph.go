package sqlite

import (
	"context"
	"fmt"

	"github.com/artifactd/registry/internal/domain"
)

// Graph returns the upstream configuration of every repository of a
// domain, for domain.Graph.SearchOrder.
func (d *DB) Graph(ctx context.Context, dom string) (domain.Graph, error) {
	return cachedRead(d, cacheKey("graph", dom), cloneGraph, func() (domain.Graph, error) {
		return graph(ctx, d.db, dom)
	})
}

// graph reads a domain's upstream configuration through q (a transaction
// when the caller needs it consistent with its writes).
func graph(ctx context.Context, q querier, dom string) (domain.Graph, error) {
	g := domain.Graph{Upstreams: map[string][]string{}, External: map[string]string{}}
	did, err := domainID(ctx, q, dom)
	if err != nil {
		return g, err
	}
	rows, err := q.QueryContext(ctx, `SELECT name, external_connection FROM repositories WHERE domain_id = ?`, did)
	if err != nil {
		return g, fmt.Errorf("sqlite: graph: %w", err)
	}
	for rows.Next() {
		var name, ec string
		if err := rows.Scan(&name, &ec); err != nil {
			rows.Close()
			return g, err
		}
		if ec != "" {
			g.External[name] = ec
		}
	}
	rows.Close()
	rows, err = q.QueryContext(ctx, `SELECT r.name, u.name FROM upstreams x JOIN repositories r ON r.id = x.repository_id
		JOIN repositories u ON u.id = x.upstream_id WHERE r.domain_id = ? ORDER BY r.name, x.position`, did)
	if err != nil {
		return g, fmt.Errorf("sqlite: graph: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r, u string
		if err := rows.Scan(&r, &u); err != nil {
			return g, err
		}
		g.Upstreams[r] = append(g.Upstreams[r], u)
	}
	return g, rows.Err()
}
