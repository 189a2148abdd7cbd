package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// flushEvents turns the changes the triggers staged during this
// transaction into outbox rows, one per changed version, numbered by the
// package's sequence. It runs inside the transaction, just before commit.
func (d *DB) flushEvents(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT s.version_id, s.package_id, s.version, s.status, s.revision, s.op, s.assets_added, s.assets_removed,
		s.metadata_updated, s.status_changed, p.format, p.namespace, p.name, r.name, dm.name
		FROM event_staging s JOIN packages p ON p.id = s.package_id JOIN repositories r ON r.id = p.repository_id
		JOIN domains dm ON dm.id = r.domain_id ORDER BY s.package_id, s.version_id`)
	if err != nil {
		return fmt.Errorf("sqlite: staged events: %w", err)
	}
	type staged struct {
		pkg                        int64
		version, status, rev, op   string
		added, removed, meta, stat int
		format, ns, name, repo, dm string
	}
	var all []staged
	for rows.Next() {
		var s staged
		var vid int64
		if err := rows.Scan(&vid, &s.pkg, &s.version, &s.status, &s.rev, &s.op, &s.added, &s.removed, &s.meta, &s.stat,
			&s.format, &s.ns, &s.name, &s.repo, &s.dm); err != nil {
			rows.Close()
			return err
		}
		all = append(all, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM event_staging`); err != nil {
		return err
	}
	t := time.Now().UTC()
	for _, s := range all {
		var seq int64
		if err := tx.QueryRowContext(ctx, `UPDATE packages SET seq_next = seq_next + 1 WHERE id = ? RETURNING seq_next`, s.pkg).Scan(&seq); err != nil {
			return fmt.Errorf("sqlite: event sequence: %w", err)
		}
		dedup := newDedupID()
		var ns any
		if s.ns != "" {
			ns = s.ns
		}
		state := s.status
		if s.op == "Deleted" {
			state = "Deleted"
		}
		detail, _ := json.Marshal(map[string]any{
			"domainName": s.dm, "domainOwner": d.account, "repositoryName": s.repo, "repositoryAdministrator": d.account,
			"packageFormat": s.format, "packageNamespace": ns, "packageName": s.name, "packageVersion": s.version,
			"packageVersionState": state, "packageVersionRevision": s.rev, "operationType": s.op, "sequenceNumber": seq,
			"eventDeduplicationId": dedup,
			"changes": map[string]any{"assetsAdded": s.added, "assetsRemoved": s.removed, "assetsUpdated": 0,
				"metadataUpdated": s.meta != 0, "statusChanged": s.stat != 0},
		})
		subject := "codeartifact." + subjectToken(s.dm) + "." + subjectToken(s.repo) + "." + subjectToken(s.format)
		resource := s.dm + "/" + s.repo + "/" + s.format + "/" + s.ns + "/" + s.name
		if _, err := tx.ExecContext(ctx, `INSERT INTO events(dedup_id, subject, resource, detail, created_at) VALUES (?, ?, ?, ?, ?)`,
			dedup, subject, resource, string(detail), t.UnixMilli()); err != nil {
			return fmt.Errorf("sqlite: outbox: %w", err)
		}
	}
	return nil
}

// subjectToken makes a name safe as one NATS subject token: '.' (legal in
// repository names) and the wildcards are percent-encoded.
func subjectToken(s string) string {
	return strings.NewReplacer("%", "%25", ".", "%2E", "*", "%2A", ">", "%3E", " ", "%20").Replace(s)
}

func newDedupID() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// PendingEvents returns up to limit unsent outbox events, oldest first.
func (d *DB) PendingEvents(ctx context.Context, limit int) ([]domain.OutboxEvent, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, dedup_id, subject, resource, detail, created_at FROM events WHERE sent_at IS NULL ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending events: %w", err)
	}
	defer rows.Close()
	var out []domain.OutboxEvent
	for rows.Next() {
		var e domain.OutboxEvent
		var detail string
		var at int64
		if err := rows.Scan(&e.ID, &e.DedupID, &e.Subject, &e.Resource, &detail, &at); err != nil {
			return nil, err
		}
		e.Detail, e.Time = json.RawMessage(detail), fromMillis(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// MarkEventsSent records that the events were published.
func (d *DB) MarkEventsSent(ctx context.Context, ids []int64) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE events SET sent_at = ? WHERE id = ?`, now(), id); err != nil {
				return err
			}
		}
		return nil
	})
}

// EventsChanged returns a channel that receives a value (coalesced) after
// every committed write transaction, so a relay can look for new events.
func (d *DB) EventsChanged() <-chan struct{} { return d.eventsCh }

// SetAccount sets the account id written into events as domain owner and
// repository administrator.
func (d *DB) SetAccount(account string) { d.account = account }
