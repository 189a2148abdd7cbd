package sqlite

// Identity: the root principal, IAM users, their access keys and their
// inline policies (tables principals, access_keys, user_policies).
//
//	principals    one row per principal; exactly one has is_root = 1 and is
//	              named "root". User names are unique without regard to case,
//	              as IAM's are, and every user lookup is case-insensitive.
//	access_keys   at most maxAccessKeysPerUser per user; the secret is stored
//	              because SigV4 verification needs it.
//	user_policies inline policy documents, keyed by (principal, name).
//
// The user methods never see the root principal: it is not listed, cannot be
// looked up, deleted or given keys or policies through them, and its name is
// reserved.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/artifactd/registry/internal/domain"
)

// IAM name rules, from the botocore iam service model (2010-05-08):
// userNameType, pathType and policyNameType.
var (
	// (Lengths are checked apart: see domain's name rules.)
	userNameRE   = regexp.MustCompile(`^[\w+=,.@-]+$`)
	userPathRE   = regexp.MustCompile(`^/(?:[\x21-\x7E]+/)?$`)
	policyNameRE = regexp.MustCompile(`^[\w+=,.@-]+$`)
)

const (
	rootName = "root"
	// maxAccessKeysPerUser is IAM's AccessKeysPerUser quota.
	maxAccessKeysPerUser = 2
	keyActive            = "Active"
)

// EnsureRoot creates the root principal and an access key for it on the
// first call and reports created = true. Later calls return the root's
// oldest active key (creating one, with created = true, only if it has
// none). The returned key includes its secret.
func (d *DB) EnsureRoot(ctx context.Context) (key domain.AccessKey, created bool, err error) {
	err = d.tx(ctx, func(tx *sql.Tx) error {
		var pid int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM principals WHERE is_root = 1`).Scan(&pid)
		if errors.Is(err, sql.ErrNoRows) {
			p, err := insertPrincipal(ctx, tx, rootName, "/", true)
			if err != nil {
				return err
			}
			pid = p.ID
		} else if err != nil {
			return err
		}
		key, err = scanKey(tx.QueryRowContext(ctx, `SELECT id, secret, principal_id, status, created_at FROM access_keys
			WHERE principal_id = ? AND status = ? ORDER BY created_at, id LIMIT 1`, pid, keyActive))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		key, err = insertKey(ctx, tx, pid)
		created = err == nil
		return err
	})
	if err != nil {
		return domain.AccessKey{}, false, fmt.Errorf("sqlite: ensure root: %w", err)
	}
	return key, created, nil
}

// LookupAccessKey returns an active access key, secret included, and the
// principal it belongs to. An unknown or inactive key is domain.ErrNotFound.
func (d *DB) LookupAccessKey(ctx context.Context, id string) (domain.Principal, domain.AccessKey, error) {
	var p domain.Principal
	var k domain.AccessKey
	var pc, kc int64
	err := d.db.QueryRowContext(ctx, `SELECT p.id, p.name, p.user_id, p.path, p.is_root, p.created_at,
			k.id, k.secret, k.status, k.created_at
		FROM access_keys k JOIN principals p ON p.id = k.principal_id WHERE k.id = ?`, id).
		Scan(&p.ID, &p.Name, &p.UserID, &p.Path, &p.Root, &pc, &k.ID, &k.Secret, &k.Status, &kc)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && k.Status != keyActive) {
		return domain.Principal{}, domain.AccessKey{}, keyNotFound(id)
	}
	if err != nil {
		return domain.Principal{}, domain.AccessKey{}, fmt.Errorf("sqlite: lookup access key: %w", err)
	}
	p.CreatedAt, k.CreatedAt, k.PrincipalID = fromMillis(pc), fromMillis(kc), p.ID
	return p, k, nil
}

// CreateUser creates an IAM user. The name must match [\w+=,.@-]{1,64} and
// the path IAM's path rule ("/" or "/.../"; "" means "/"). A name equal, in
// any case, to an existing user's is domain.ErrAlreadyExists; "root" is
// reserved (domain.ErrInvalid).
func (d *DB) CreateUser(ctx context.Context, name, path string) (domain.Principal, error) {
	if path == "" {
		path = "/"
	}
	if len(name) > 64 || !userNameRE.MatchString(name) {
		return domain.Principal{}, domain.Invalid("user name %q must match [\\w+=,.@-]{1,64}", name)
	}
	if len(path) > 512 || !userPathRE.MatchString(path) {
		return domain.Principal{}, domain.Invalid("path %q must be \"/\" or begin and end with \"/\" (at most 512 printable ASCII characters)", path)
	}
	if strings.EqualFold(name, rootName) { // even before EnsureRoot has run
		return domain.Principal{}, domain.Invalid("user name %q is reserved", name)
	}
	var p domain.Principal
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM principals WHERE name = ? COLLATE NOCASE`, name).Scan(&id)
		switch {
		case err == nil:
			return &domain.Error{Kind: domain.ErrAlreadyExists, Msg: fmt.Sprintf("User with name %s already exists.", name), ResourceType: "user", ResourceID: name}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		p, err = insertPrincipal(ctx, tx, name, path, false)
		return err
	})
	if err != nil {
		return domain.Principal{}, identityErr(err, "create user %s", name)
	}
	return p, nil
}

// GetUser returns the user with the given name, matched without regard to
// case, or domain.ErrNotFound.
func (d *DB) GetUser(ctx context.Context, name string) (domain.Principal, error) {
	p, err := userByName(ctx, d.db, name)
	return p, identityErr(err, "get user %s", name)
}

// ListUsers returns every user ordered by name. The root principal is not a
// user and is not listed.
func (d *DB) ListUsers(ctx context.Context) ([]domain.Principal, error) {
	users, err := identityRows(ctx, d.db, scanPrincipal, `SELECT id, name, user_id, path, is_root, created_at FROM principals WHERE is_root = 0 ORDER BY name`)
	return users, identityErr(err, "list users")
}

// DeleteUser deletes a user. As IAM does, it refuses with domain.ErrConflict
// while the user still has access keys or inline policies.
func (d *DB) DeleteUser(ctx context.Context, name string) error {
	err := d.tx(ctx, func(tx *sql.Tx) error {
		p, err := userByName(ctx, tx, name)
		if err != nil {
			return err
		}
		var keys, policies int
		err = tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM access_keys WHERE principal_id = ?1),
			(SELECT COUNT(*) FROM user_policies WHERE principal_id = ?1)`, p.ID).Scan(&keys, &policies)
		switch {
		case err != nil:
			return err
		case keys > 0:
			return domain.Conflict("user", p.Name, "Cannot delete entity, must delete access keys first.")
		case policies > 0:
			return domain.Conflict("user", p.Name, "Cannot delete entity, must delete policies first.")
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM principals WHERE id = ?`, p.ID)
		return err
	})
	return identityErr(err, "delete user %s", name)
}

// PrincipalPolicies returns the inline policy documents of any principal,
// root included, ordered by policy name; none for an unknown id.
func (d *DB) PrincipalPolicies(ctx context.Context, principalID int64) ([]string, error) {
	return cachedRead(d, principalKey(principalID), cloneStrings, func() ([]string, error) {
		docs, err := identityRows(ctx, d.db, scanString, `SELECT document FROM user_policies WHERE principal_id = ? ORDER BY name`, principalID)
		return docs, identityErr(err, "principal policies %d", principalID)
	})
}

// CreateAccessKey creates an active access key for a user and returns it
// with its secret, which is never retrievable again. A user has at most two
// keys (IAM's AccessKeysPerUser quota, domain.ErrQuotaExceeded).
func (d *DB) CreateAccessKey(ctx context.Context, userName string) (domain.AccessKey, error) {
	var k domain.AccessKey
	err := d.tx(ctx, func(tx *sql.Tx) error {
		p, err := userByName(ctx, tx, userName)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM access_keys WHERE principal_id = ?`, p.ID).Scan(&n); err != nil {
			return err
		}
		if n >= maxAccessKeysPerUser {
			return domain.Errorf(domain.ErrQuotaExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", maxAccessKeysPerUser)
		}
		k, err = insertKey(ctx, tx, p.ID)
		return err
	})
	if err != nil {
		return domain.AccessKey{}, identityErr(err, "create access key for %s", userName)
	}
	return k, nil
}

// ListAccessKeys returns a user's access keys ordered by id, without their
// secrets.
func (d *DB) ListAccessKeys(ctx context.Context, userName string) ([]domain.AccessKey, error) {
	p, err := userByName(ctx, d.db, userName)
	if err != nil {
		return nil, identityErr(err, "list access keys of %s", userName)
	}
	keys, err := identityRows(ctx, d.db, scanKey, `SELECT id, '', principal_id, status, created_at FROM access_keys WHERE principal_id = ? ORDER BY id`, p.ID)
	return keys, identityErr(err, "list access keys of %s", userName)
}

// DeleteAccessKey deletes one of a user's access keys; a key that does not
// exist or belongs to someone else is domain.ErrNotFound.
func (d *DB) DeleteAccessKey(ctx context.Context, userName, keyID string) error {
	err := d.tx(ctx, func(tx *sql.Tx) error {
		p, err := userByName(ctx, tx, userName)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM access_keys WHERE id = ? AND principal_id = ?`, keyID, p.ID)
		return deletedOne(res, err, keyNotFound(keyID))
	})
	return identityErr(err, "delete access key of %s", userName)
}

// PutUserPolicy creates or replaces a user's inline policy. The policy name
// must match [\w+=,.@-]{1,128}; the caller validates the document.
func (d *DB) PutUserPolicy(ctx context.Context, userName, policyName, document string) error {
	if len(policyName) > 128 || !policyNameRE.MatchString(policyName) {
		return domain.Invalid("policy name %q must match [\\w+=,.@-]{1,128}", policyName)
	}
	err := d.tx(ctx, func(tx *sql.Tx) error {
		p, err := userByName(ctx, tx, userName)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO user_policies(principal_id, name, document) VALUES (?, ?, ?)
			ON CONFLICT (principal_id, name) DO UPDATE SET document = excluded.document`, p.ID, policyName, document)
		return err
	})
	return identityErr(err, "put policy %s of %s", policyName, userName)
}

// GetUserPolicy returns the document of a user's inline policy.
func (d *DB) GetUserPolicy(ctx context.Context, userName, policyName string) (string, error) {
	p, err := userByName(ctx, d.db, userName)
	if err != nil {
		return "", identityErr(err, "get policy %s of %s", policyName, userName)
	}
	var doc string
	err = d.db.QueryRowContext(ctx, `SELECT document FROM user_policies WHERE principal_id = ? AND name = ?`, p.ID, policyName).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", policyNotFound(policyName)
	}
	return doc, identityErr(err, "get policy %s of %s", policyName, userName)
}

// ListUserPolicies returns the names of a user's inline policies, sorted.
func (d *DB) ListUserPolicies(ctx context.Context, userName string) ([]string, error) {
	p, err := userByName(ctx, d.db, userName)
	if err != nil {
		return nil, identityErr(err, "list policies of %s", userName)
	}
	names, err := identityRows(ctx, d.db, scanString, `SELECT name FROM user_policies WHERE principal_id = ? ORDER BY name`, p.ID)
	return names, identityErr(err, "list policies of %s", userName)
}

// DeleteUserPolicy deletes a user's inline policy.
func (d *DB) DeleteUserPolicy(ctx context.Context, userName, policyName string) error {
	err := d.tx(ctx, func(tx *sql.Tx) error {
		p, err := userByName(ctx, tx, userName)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM user_policies WHERE principal_id = ? AND name = ?`, p.ID, policyName)
		return deletedOne(res, err, policyNotFound(policyName))
	})
	return identityErr(err, "delete policy %s of %s", policyName, userName)
}

// userByName finds a user (never the root principal) by name, ignoring case.
// Infrastructure errors are returned bare for the caller to wrap.
func userByName(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) (domain.Principal, error) {
	p, err := scanPrincipal(q.QueryRowContext(ctx, `SELECT id, name, user_id, path, is_root, created_at FROM principals
		WHERE name = ? COLLATE NOCASE AND is_root = 0`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Principal{}, &domain.Error{Kind: domain.ErrNotFound, Msg: fmt.Sprintf("The user with name %s cannot be found.", name), ResourceType: "user", ResourceID: name}
	}
	if err != nil {
		return domain.Principal{}, err
	}
	return p, nil
}

func insertPrincipal(ctx context.Context, tx *sql.Tx, name, path string, root bool) (domain.Principal, error) {
	p := domain.Principal{Name: name, Path: path, Root: root, UserID: "AIDA" + randomChars(userIDChars, 17)}
	created := now()
	res, err := tx.ExecContext(ctx, `INSERT INTO principals(name, user_id, path, is_root, created_at) VALUES (?, ?, ?, ?, ?)`,
		p.Name, p.UserID, p.Path, p.Root, created)
	if err != nil {
		return domain.Principal{}, err
	}
	if p.ID, err = res.LastInsertId(); err != nil {
		return domain.Principal{}, err
	}
	p.CreatedAt = fromMillis(created)
	return p, nil
}

func scanPrincipal(s interface{ Scan(...any) error }) (domain.Principal, error) {
	var p domain.Principal
	var created int64
	err := s.Scan(&p.ID, &p.Name, &p.UserID, &p.Path, &p.Root, &created)
	p.CreatedAt = fromMillis(created)
	return p, err
}

func insertKey(ctx context.Context, tx *sql.Tx, principalID int64) (domain.AccessKey, error) {
	k := domain.AccessKey{
		ID:          "AKIA" + randomChars(keyIDChars, 16),
		Secret:      randomChars(secretChars, 40),
		PrincipalID: principalID,
		Status:      keyActive,
		CreatedAt:   fromMillis(now()),
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO access_keys(id, principal_id, secret, status, created_at) VALUES (?, ?, ?, ?, ?)`,
		k.ID, k.PrincipalID, k.Secret, k.Status, k.CreatedAt.UnixMilli())
	return k, err
}

func scanKey(s interface{ Scan(...any) error }) (domain.AccessKey, error) {
	var k domain.AccessKey
	var created int64
	err := s.Scan(&k.ID, &k.Secret, &k.PrincipalID, &k.Status, &created)
	k.CreatedAt = fromMillis(created)
	return k, err
}

// deletedOne returns notFound when a DELETE succeeded but removed nothing.
func deletedOne(res sql.Result, err, notFound error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		return notFound
	}
	return err
}

func keyNotFound(id string) error {
	return &domain.Error{Kind: domain.ErrNotFound, Msg: fmt.Sprintf("The Access Key with id %s cannot be found.", id), ResourceType: "access-key", ResourceID: id}
}

func policyNotFound(name string) error {
	return &domain.Error{Kind: domain.ErrNotFound, Msg: fmt.Sprintf("The user policy with name %s cannot be found.", name), ResourceType: "user-policy", ResourceID: name}
}

// identityRows runs a query and scans every row with scan.
func identityRows[T any](ctx context.Context, db *sql.DB, scan func(interface{ Scan(...any) error }) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanString(s interface{ Scan(...any) error }) (string, error) {
	var v string
	err := s.Scan(&v)
	return v, err
}

// identityErr prefixes an infrastructure error with the operation; kinded errors
// carry a client-facing message and are returned unchanged.
func identityErr(err error, format string, args ...any) error {
	if err == nil || domain.KindOf(err) != nil {
		return err
	}
	return fmt.Errorf("sqlite: "+format+": %w", append(args, err)...)
}

// Alphabets for generated identifiers, shaped like AWS's.
const (
	keyIDChars  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	userIDChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// randomChars returns n characters drawn uniformly from alphabet (at most
// 256 characters) with crypto/rand, rejecting bytes that would bias the draw.
func randomChars(alphabet string, n int) string {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		rand.Read(buf) // never returns an error; it crashes the program instead
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}
