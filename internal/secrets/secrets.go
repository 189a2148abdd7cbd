package secrets

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// Staging labels Secrets Manager moves on every new value.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
)

// Tag is a Secrets Manager tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Secret is a secret's metadata (no value).
type Secret struct {
	Name, ARN, Description, KmsKeyID string
	Tags                             []Tag
	Created, Changed                 time.Time
	Accessed, Deleted                time.Time // zero when never / not scheduled
	// Versions maps version ids to their staging labels.
	Versions map[string][]string
}

// SecretValue is one version of a secret with its plaintext.
type SecretValue struct {
	Name, ARN, VersionID string
	String               string
	Binary               []byte
	IsBinary             bool
	Stages               []string
	Created              time.Time
}

// CreateSecretInput is what CreateSecret stores. A secret may be created
// without a value (String nil and Binary empty).
type CreateSecretInput struct {
	Name, Description, KmsKeyID string
	// Token is the ClientRequestToken: the id of the first version; a
	// random one is chosen when empty.
	Token  string
	String *string
	Binary []byte
	Tags   []Tag
}

// PutSecretValueInput is a new version of a secret.
type PutSecretValueInput struct {
	SecretID, Token string
	String          *string
	Binary          []byte
	// Stages are the labels the new version takes; default AWSCURRENT.
	Stages []string
}

var secretNameRE = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]+$`)

const maxSecretValue = 65536

func versionAAD(arn, version string) string { return "secretsmanager:" + arn + ":" + version }

func randomSuffix() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b [6]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// newVersionID returns a random UUID (version 4), the form Secrets Manager
// gives version ids.
func newVersionID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func checkValue(str *string, bin []byte, required bool) error {
	switch {
	case str != nil && len(bin) > 0:
		return domain.Invalid("You can't specify both a binary secret value and a string secret value in the same secret.")
	case str == nil && len(bin) == 0 && required:
		return domain.Invalid("You must provide either SecretString or SecretBinary.")
	case str != nil && (len(*str) == 0 || len(*str) > maxSecretValue), len(bin) > maxSecretValue:
		return domain.Invalid("The secret value must be between 1 and %d bytes.", maxSecretValue)
	}
	return nil
}

func checkToken(tok string) error {
	if tok != "" && (len(tok) < 32 || len(tok) > 64) {
		return domain.Invalid("ClientRequestToken must be 32 to 64 characters long.")
	}
	return nil
}

// purge removes secrets whose scheduled deletion date has passed.
func (s *Store) purge(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM secrets WHERE deleted_ms IS NOT NULL AND deleted_ms <= ?`, millis(s.now()))
	return err
}

type secretRow struct {
	name, arn string
	deleted   sql.NullInt64
}

// resolve finds a secret by name, full ARN or partial ARN (without the
// random suffix).
func (s *Store) resolve(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (secretRow, error) {
	var r secretRow
	var err error
	if strings.HasPrefix(id, "arn:") {
		err = q.QueryRowContext(ctx, `SELECT name, arn, deleted_ms FROM secrets WHERE arn = ? OR substr(arn, 1, length(arn) - 7) = ?`, id, id).Scan(&r.name, &r.arn, &r.deleted)
	} else {
		err = q.QueryRowContext(ctx, `SELECT name, arn, deleted_ms FROM secrets WHERE name = ?`, id).Scan(&r.name, &r.arn, &r.deleted)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return r, domain.NotFound("secret", id)
	}
	return r, err
}

var errMarkedForDeletion = domain.Errorf(domain.ErrConflict, "You can't perform this operation on the secret because it was marked for deletion.")

// CreateSecret creates a secret and, when a value is given, its first
// version labelled AWSCURRENT. An existing name is domain.ErrAlreadyExists.
func (s *Store) CreateSecret(ctx context.Context, in CreateSecretInput) (SecretValue, error) {
	if len(in.Name) > 512 || !secretNameRE.MatchString(in.Name) {
		return SecretValue{}, domain.Invalid("Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
	}
	if err := checkValue(in.String, in.Binary, false); err != nil {
		return SecretValue{}, err
	}
	if err := checkToken(in.Token); err != nil {
		return SecretValue{}, err
	}
	tags, _ := json.Marshal(append([]Tag{}, in.Tags...))
	now := s.now()
	out := SecretValue{Name: in.Name, ARN: "arn:aws:secretsmanager:" + s.region + ":" + s.account + ":secret:" + in.Name + "-" + randomSuffix(), Created: now}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.purge(ctx, tx); err != nil {
			return err
		}
		if r, err := s.resolve(ctx, tx, in.Name); err == nil {
			if r.deleted.Valid {
				return domain.Errorf(domain.ErrConflict, "You can't create this secret because a secret with this name is already scheduled for deletion.")
			}
			return domain.Errorf(domain.ErrAlreadyExists, "The operation failed because the secret %s already exists.", in.Name)
		} else if !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets(name, arn, description, kms_key_id, tags, created_ms, changed_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			in.Name, out.ARN, in.Description, in.KmsKeyID, string(tags), millis(now), millis(now)); err != nil {
			return err
		}
		if in.String == nil && len(in.Binary) == 0 {
			return nil
		}
		out.VersionID = in.Token
		if out.VersionID == "" {
			out.VersionID = newVersionID()
		}
		out.Stages = []string{StageCurrent}
		return s.insertVersion(ctx, tx, out.Name, out.ARN, out.VersionID, in.String, in.Binary, out.Stages, now)
	})
	return out, err
}

func (s *Store) insertVersion(ctx context.Context, tx *sql.Tx, name, arn, version string, str *string, bin []byte, stages []string, now time.Time) error {
	plain, isBin := bin, true
	if str != nil {
		plain, isBin = []byte(*str), false
	}
	st, _ := json.Marshal(stages)
	_, err := tx.ExecContext(ctx, `INSERT INTO secret_versions(secret, version_id, value, is_binary, stages, created_ms) VALUES (?, ?, ?, ?, ?, ?)`,
		name, version, s.seal.seal(plain, versionAAD(arn, version)), isBin, string(st), millis(now))
	return err
}

// PutSecretValue stores a new version of a secret. The labels it takes
// move off the other versions; when AWSCURRENT moves, the version that had
// it becomes AWSPREVIOUS. Versions left without a label are removed.
// Repeating a request with the same token and value changes nothing; the
// same token with another value is domain.ErrAlreadyExists.
func (s *Store) PutSecretValue(ctx context.Context, in PutSecretValueInput) (SecretValue, error) {
	if err := checkValue(in.String, in.Binary, true); err != nil {
		return SecretValue{}, err
	}
	if err := checkToken(in.Token); err != nil {
		return SecretValue{}, err
	}
	stages := in.Stages
	if len(stages) == 0 {
		stages = []string{StageCurrent}
	}
	now := s.now()
	var out SecretValue
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.purge(ctx, tx); err != nil {
			return err
		}
		r, err := s.resolve(ctx, tx, in.SecretID)
		if err != nil {
			return err
		}
		if r.deleted.Valid {
			return errMarkedForDeletion
		}
		out = SecretValue{Name: r.name, ARN: r.arn, VersionID: in.Token, Stages: stages, Created: now}
		if out.VersionID == "" {
			out.VersionID = newVersionID()
		}
		versions, err := s.versions(ctx, tx, r.name)
		if err != nil {
			return err
		}
		for _, v := range versions {
			if v.id != out.VersionID {
				continue
			}
			plain, err := s.seal.open(v.sealed, versionAAD(r.arn, v.id))
			if err != nil {
				return err
			}
			want := in.Binary
			if in.String != nil {
				want = []byte(*in.String)
			}
			if !bytes.Equal(plain, want) || v.binary != (in.String == nil) {
				return domain.Errorf(domain.ErrAlreadyExists, "You can't modify an existing version, you can only create a new version.")
			}
			out.Stages = v.stages
			return nil
		}
		moveCurrent := slices.Contains(stages, StageCurrent)
		for _, v := range versions {
			next := slices.DeleteFunc(slices.Clone(v.stages), func(l string) bool {
				return slices.Contains(stages, l) || (moveCurrent && l == StagePrevious)
			})
			if moveCurrent && slices.Contains(v.stages, StageCurrent) {
				next = append(next, StagePrevious)
			}
			if len(next) == 0 {
				if _, err := tx.ExecContext(ctx, `DELETE FROM secret_versions WHERE secret = ? AND version_id = ?`, r.name, v.id); err != nil {
					return err
				}
				continue
			}
			st, _ := json.Marshal(next)
			if _, err := tx.ExecContext(ctx, `UPDATE secret_versions SET stages = ? WHERE secret = ? AND version_id = ?`, string(st), r.name, v.id); err != nil {
				return err
			}
		}
		if err := s.insertVersion(ctx, tx, r.name, r.arn, out.VersionID, in.String, in.Binary, stages, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE secrets SET changed_ms = ? WHERE name = ?`, millis(now), r.name)
		return err
	})
	return out, err
}

type versionRow struct {
	id      string
	sealed  []byte
	binary  bool
	stages  []string
	created int64
}

func (s *Store) versions(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, name string) ([]versionRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT version_id, value, is_binary, stages, created_ms FROM secret_versions WHERE secret = ? ORDER BY created_ms, version_id`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []versionRow
	for rows.Next() {
		var v versionRow
		var st string
		if err := rows.Scan(&v.id, &v.sealed, &v.binary, &st, &v.created); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(st), &v.stages)
		out = append(out, v)
	}
	return out, rows.Err()
}

// GetSecretValue returns one version of a secret, decrypted: the one with
// versionID if given, else the one labelled stage (default AWSCURRENT).
func (s *Store) GetSecretValue(ctx context.Context, id, versionID, stage string) (SecretValue, error) {
	var out SecretValue
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.purge(ctx, tx); err != nil {
			return err
		}
		r, err := s.resolve(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.deleted.Valid {
			return errMarkedForDeletion
		}
		versions, err := s.versions(ctx, tx, r.name)
		if err != nil {
			return err
		}
		if versionID == "" && stage == "" {
			stage = StageCurrent
		}
		var found *versionRow
		for i, v := range versions {
			if (versionID == "" || v.id == versionID) && (stage == "" || slices.Contains(v.stages, stage)) {
				found = &versions[i]
			}
		}
		if found == nil {
			if versionID != "" {
				return &domain.Error{Kind: domain.ErrNotFound, Msg: "Secrets Manager can't find the specified secret value for VersionId: " + versionID, ResourceType: "secret-version", ResourceID: versionID}
			}
			return &domain.Error{Kind: domain.ErrNotFound, Msg: "Secrets Manager can't find the specified secret value for staging label: " + stage, ResourceType: "secret-version", ResourceID: stage}
		}
		plain, err := s.seal.open(found.sealed, versionAAD(r.arn, found.id))
		if err != nil {
			return err
		}
		out = SecretValue{Name: r.name, ARN: r.arn, VersionID: found.id, IsBinary: found.binary, Stages: found.stages, Created: fromMillis(found.created)}
		if found.binary {
			out.Binary = plain
		} else {
			out.String = string(plain)
		}
		day := s.now().UTC().Truncate(24 * time.Hour)
		_, err = tx.ExecContext(ctx, `UPDATE secrets SET accessed_ms = ? WHERE name = ?`, millis(day), r.name)
		return err
	})
	return out, err
}

// SecretString returns the text of a secret version for a buildspec
// secrets-manager reference: id is a name or ARN; versionStage and
// versionID select the version (default AWSCURRENT). A binary secret is
// domain.ErrInvalid.
func (s *Store) SecretString(ctx context.Context, id, versionStage, versionID string) (string, error) {
	v, err := s.GetSecretValue(ctx, id, versionID, versionStage)
	if err != nil {
		return "", err
	}
	if v.IsBinary {
		return "", domain.Invalid("secret %s holds a binary value; builds read SecretString values only", id)
	}
	return v.String, nil
}

// DeleteSecret schedules a secret for deletion after recoveryDays (7 to
// 30, default 30), or deletes it at once with force. It returns the
// secret and the deletion date.
func (s *Store) DeleteSecret(ctx context.Context, id string, recoveryDays int64, force bool) (Secret, time.Time, error) {
	if force && recoveryDays != 0 {
		return Secret{}, time.Time{}, domain.Invalid("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
	}
	if recoveryDays == 0 {
		recoveryDays = 30
	}
	if !force && (recoveryDays < 7 || recoveryDays > 30) {
		return Secret{}, time.Time{}, domain.Invalid("The recovery window must be between 7 and 30 days.")
	}
	now := s.now()
	when := now
	if !force {
		when = now.Add(time.Duration(recoveryDays) * 24 * time.Hour)
	}
	var out Secret
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.purge(ctx, tx); err != nil {
			return err
		}
		r, err := s.resolve(ctx, tx, id)
		if err != nil {
			return err
		}
		out = Secret{Name: r.name, ARN: r.arn}
		if force {
			_, err = tx.ExecContext(ctx, `DELETE FROM secrets WHERE name = ?`, r.name)
			return err
		}
		if r.deleted.Valid {
			return errMarkedForDeletion
		}
		_, err = tx.ExecContext(ctx, `UPDATE secrets SET deleted_ms = ? WHERE name = ?`, millis(when), r.name)
		return err
	})
	return out, when, err
}

// ListSecrets returns every secret (with those scheduled for deletion
// when includeDeleted), by name.
func (s *Store) ListSecrets(ctx context.Context, includeDeleted bool) ([]Secret, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error { return s.purge(ctx, tx) })
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT name, arn, description, kms_key_id, tags, created_ms, changed_ms, accessed_ms, deleted_ms FROM secrets ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var out []Secret
	for rows.Next() {
		var sc Secret
		var tags string
		var created, changed int64
		var accessed, deleted sql.NullInt64
		if err := rows.Scan(&sc.Name, &sc.ARN, &sc.Description, &sc.KmsKeyID, &tags, &created, &changed, &accessed, &deleted); err != nil {
			rows.Close()
			return nil, err
		}
		if deleted.Valid && !includeDeleted {
			continue
		}
		json.Unmarshal([]byte(tags), &sc.Tags)
		sc.Created, sc.Changed = fromMillis(created), fromMillis(changed)
		if accessed.Valid {
			sc.Accessed = fromMillis(accessed.Int64)
		}
		if deleted.Valid {
			sc.Deleted = fromMillis(deleted.Int64)
		}
		out = append(out, sc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		vs, err := s.versions(ctx, s.db, out[i].Name)
		if err != nil {
			return nil, err
		}
		out[i].Versions = map[string][]string{}
		for _, v := range vs {
			out[i].Versions[v.id] = v.stages
		}
	}
	return out, nil
}
