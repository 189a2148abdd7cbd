package secrets

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/artifactd/registry/internal/domain"
)

// Parameter types, as SSM names them.
const (
	TypeString       = "String"
	TypeStringList   = "StringList"
	TypeSecureString = "SecureString"
)

// Parameter is an SSM parameter with its plaintext value.
type Parameter struct {
	Name         string
	ARN          string
	Type         string
	Value        string
	Version      int64
	Description  string
	DataType     string
	KeyID        string
	LastModified time.Time
	// Sealed is the stored ciphertext; GetParameter without decryption
	// returns it (base64) for a SecureString, as SSM returns its KMS blob.
	Sealed []byte
}

// PutParameterInput is what PutParameter stores.
type PutParameterInput struct {
	Name, Type, Value, Description, DataType, KeyID, Tier string
	// Overwrite allows replacing an existing parameter (its version grows).
	Overwrite bool
	// By names the principal making the change.
	By string
}

// Parameter value limits by tier (SSM: 4 KB standard, 8 KB advanced).
const (
	maxStandardValue = 4096
	maxAdvancedValue = 8192
)

var paramNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

// ValidateParameterName checks an SSM parameter name the way SSM does:
// letters, digits and "._-/", a path when it starts with "/", no "aws" or
// "ssm" prefix, at most 15 levels.
func ValidateParameterName(name string) error {
	msg := "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_"
	if len(name) > 2048 || !paramNameRE.MatchString(name) {
		return domain.Invalid("%s", msg)
	}
	first := strings.ToLower(strings.TrimPrefix(name, "/"))
	if strings.HasPrefix(first, "aws") || strings.HasPrefix(first, "ssm") {
		return domain.Invalid("%s", msg)
	}
	if strings.Contains(name, "/") {
		if !strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
			return domain.Invalid("Parameter name must be a fully qualified name: a path starts with \"/\" and has no empty level (%q)", name)
		}
		if strings.Count(name, "/") > 15 {
			return domain.Errorf(domain.ErrQuotaExceeded, "Parameter name %q has more than 15 hierarchy levels", name)
		}
	}
	return nil
}

// ParameterARN returns the ARN of a parameter name.
func (s *Store) ParameterARN(name string) string {
	return "arn:aws:ssm:" + s.region + ":" + s.account + ":parameter/" + strings.TrimPrefix(name, "/")
}

func paramAAD(typ, name string) string { return "ssm:parameter:" + typ + ":" + name }

// PutParameter creates or (with Overwrite) replaces a parameter and
// returns its new version. An existing parameter without Overwrite is an
// error of kind domain.ErrAlreadyExists.
func (s *Store) PutParameter(ctx context.Context, in PutParameterInput) (int64, error) {
	if err := ValidateParameterName(in.Name); err != nil {
		return 0, err
	}
	if in.Value == "" {
		return 0, domain.Invalid("1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	limit := maxStandardValue
	switch in.Tier {
	case "", "Standard", "Intelligent-Tiering":
	case "Advanced":
		limit = maxAdvancedValue
	default:
		return 0, domain.Invalid("Tier %q is not one of Standard, Advanced, Intelligent-Tiering", in.Tier)
	}
	if len(in.Value) > limit {
		return 0, domain.Invalid("Parameter value is longer than the %d bytes its tier allows", limit)
	}
	switch in.Type {
	case "", TypeString, TypeStringList, TypeSecureString:
	default:
		return 0, domain.Invalid("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", in.Type)
	}
	if in.DataType == "" {
		in.DataType = "text"
	}
	var version int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var cur int64
		var curType string
		err := tx.QueryRowContext(ctx, `SELECT version, type FROM parameters WHERE name = ?`, in.Name).Scan(&cur, &curType)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if exists && !in.Overwrite {
			return domain.Errorf(domain.ErrAlreadyExists, "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
		}
		typ := in.Type
		if typ == "" {
			if !exists {
				return domain.Invalid("A parameter type is required when you create a parameter.")
			}
			typ = curType
		}
		if typ != TypeSecureString && in.KeyID != "" {
			return domain.Invalid("KeyId is required for SecureString type parameter only.")
		}
		version = cur + 1
		sealed := s.seal.seal([]byte(in.Value), paramAAD(typ, in.Name))
		_, err = tx.ExecContext(ctx, `INSERT INTO parameters(name, type, value, version, description, data_type, key_id, modified_ms, modified_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(name) DO UPDATE SET type = excluded.type, value = excluded.value, version = excluded.version,
				description = CASE WHEN excluded.description = '' THEN parameters.description ELSE excluded.description END,
				data_type = excluded.data_type, key_id = excluded.key_id, modified_ms = excluded.modified_ms, modified_by = excluded.modified_by`,
			in.Name, typ, sealed, version, in.Description, in.DataType, in.KeyID, millis(s.now()), in.By)
		return err
	})
	return version, err
}

// GetParameter returns a parameter with its value decrypted. name may end
// in ":<version>", which must be the current version.
func (s *Store) GetParameter(ctx context.Context, name string) (Parameter, error) {
	name, selector, _ := strings.Cut(name, ":")
	var p Parameter
	var ms int64
	err := s.db.QueryRowContext(ctx, `SELECT name, type, value, version, description, data_type, key_id, modified_ms FROM parameters WHERE name = ?`, name).
		Scan(&p.Name, &p.Type, &p.Sealed, &p.Version, &p.Description, &p.DataType, &p.KeyID, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return Parameter{}, domain.NotFound("parameter", name)
	}
	if err != nil {
		return Parameter{}, err
	}
	if selector != "" {
		v, err := strconv.ParseInt(selector, 10, 64)
		if err != nil || v != p.Version {
			return Parameter{}, &domain.Error{Kind: domain.ErrNotFound, Msg: "Systems Manager could not find version " + selector + " of " + name + ".", ResourceType: "parameter-version", ResourceID: name}
		}
	}
	plain, err := s.seal.open(p.Sealed, paramAAD(p.Type, p.Name))
	if err != nil {
		return Parameter{}, err
	}
	p.Value = string(plain)
	p.ARN = s.ParameterARN(p.Name)
	p.LastModified = fromMillis(ms)
	return p, nil
}

// DeleteParameter removes a parameter; a missing one is domain.ErrNotFound.
func (s *Store) DeleteParameter(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM parameters WHERE name = ?`, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.NotFound("parameter", name)
	}
	return nil
}

// ParameterValue returns the plaintext value of a parameter (decrypted if
// it is a SecureString), for buildspec env parameter-store references.
func (s *Store) ParameterValue(ctx context.Context, name string) (string, error) {
	p, err := s.GetParameter(ctx, name)
	if err != nil {
		return "", err
	}
	return p.Value, nil
}
