package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// TokenPrefix starts every authorization token IssueToken makes. A token
// must not start with '-': `aws codeartifact login --tool npm` passes it to
// `npm config set` as an argument, which npm would take for an option and
// silently not save (one random base64url token in 64 started so). The
// prefix also lets secret scanners recognise a leaked token.
const TokenPrefix = "artd_"

// IssueToken makes an authorization token (TokenPrefix and 32 random
// bytes, base64url) for a principal and a domain, valid until expires,
// and stores only its sha256.
func (d *DB) IssueToken(ctx context.Context, principalID int64, dom string, expires time.Time) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(tok))
	if err := d.StoreToken(ctx, hex.EncodeToString(sum[:]), principalID, dom, expires); err != nil {
		return "", err
	}
	return tok, nil
}

// StoreToken records an authorization token by the hex sha256 of its value,
// for a principal and a domain, until expires. Expired tokens are pruned.
func (d *DB) StoreToken(ctx context.Context, hash string, principalID int64, dom string, expires time.Time) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		did, err := domainID(ctx, tx, dom)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at < ?`, now()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO tokens(hash, principal_id, domain_id, expires_at) VALUES (?, ?, ?, ?)`, hash, principalID, did, expires.UnixMilli())
		if err != nil {
			return fmt.Errorf("sqlite: store token: %w", err)
		}
		return nil
	})
}

// LookupToken returns the principal and domain of an unexpired token;
// ErrUnauthenticated if the token is unknown or expired.
func (d *DB) LookupToken(ctx context.Context, hash string, at time.Time) (domain.Principal, string, error) {
	p, dom, _, err := d.LookupTokenExpiry(ctx, hash, at)
	return p, dom, err
}

// LookupTokenExpiry is LookupToken that also returns when the token
// expires, for callers that cache the answer (server.CacheTokens).
func (d *DB) LookupTokenExpiry(ctx context.Context, hash string, at time.Time) (domain.Principal, string, time.Time, error) {
	var p domain.Principal
	var dom string
	var created, expires int64
	err := d.db.QueryRowContext(ctx, `SELECT p.id, p.name, p.user_id, p.path, p.is_root, p.created_at, d.name, t.expires_at
		FROM tokens t JOIN principals p ON p.id = t.principal_id JOIN domains d ON d.id = t.domain_id WHERE t.hash = ?`, hash).
		Scan(&p.ID, &p.Name, &p.UserID, &p.Path, &p.Root, &created, &dom, &expires)
	if err == sql.ErrNoRows {
		return p, "", time.Time{}, domain.Errorf(domain.ErrUnauthenticated, "the authorization token is not valid")
	}
	if err != nil {
		return p, "", time.Time{}, fmt.Errorf("sqlite: lookup token: %w", err)
	}
	if at.UnixMilli() >= expires {
		return p, "", time.Time{}, domain.Errorf(domain.ErrUnauthenticated, "the authorization token has expired")
	}
	p.CreatedAt = fromMillis(created)
	return p, dom, fromMillis(expires), nil
}
