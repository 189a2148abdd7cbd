package build

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Secrets resolves the references of parameter-store and secrets-manager
// variables (buildspec env and project variables of type PARAMETER_STORE
// and SECRETS_MANAGER). internal/secrets.Store implements it.
type Secrets interface {
	// ParameterValue returns the plaintext of an SSM parameter.
	ParameterValue(ctx context.Context, name string) (string, error)
	// SecretString returns the text of a secret version (default stage
	// AWSCURRENT when both selectors are empty).
	SecretString(ctx context.Context, id, versionStage, versionID string) (string, error)
}

// hostEnv filters the server's environment for builds: the server's own
// configuration (REGISTRY_*) and AWS credentials (AWS_*) stay out, and so
// does anything named CODEBUILD_*.
func hostEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "REGISTRY_") || strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "CODEBUILD_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// envSet is an environment under construction; later sets win.
type envSet map[string]string

func (e envSet) setAll(environ []string) {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e[k] = v
		}
	}
}

func (e envSet) list() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// resolveVar returns the value of a variable, fetching secret references,
// and whether the value is secret (to be masked).
func resolveVar(ctx context.Context, sec Secrets, v EnvVar) (string, bool, error) {
	switch v.Type {
	case "", EnvPlaintext:
		return v.Value, false, nil
	case EnvParameterStore:
		if sec == nil {
			return "", true, fmt.Errorf("parameter-store variable %s: no secret store is configured", v.Name)
		}
		val, err := sec.ParameterValue(ctx, v.Value)
		if err != nil {
			return "", true, fmt.Errorf("parameter-store variable %s: parameter %s: %v", v.Name, v.Value, err)
		}
		return val, true, nil
	case EnvSecretsManager:
		val, err := ResolveSecret(ctx, sec, v.Value)
		if err != nil {
			return "", true, fmt.Errorf("secrets-manager variable %s: %v", v.Name, err)
		}
		return val, true, nil
	}
	return "", false, fmt.Errorf("variable %s: unknown type %q", v.Name, v.Type)
}

// ResolveSecret resolves a secrets-manager reference
// "secret-id[:json-key[:version-stage[:version-id]]]": the secret's text,
// or with a json-key the value under that key of the JSON object it holds
// (a string as is, anything else as JSON).
func ResolveSecret(ctx context.Context, sec Secrets, ref string) (string, error) {
	if sec == nil {
		return "", fmt.Errorf("no secret store is configured")
	}
	r, err := ParseSecretRef(ref)
	if err != nil {
		return "", err
	}
	text, err := sec.SecretString(ctx, r.SecretID, r.VersionStage, r.VersionID)
	if err != nil {
		return "", fmt.Errorf("secret %s: %v", r.SecretID, err)
	}
	if r.JSONKey == "" {
		return text, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		return "", fmt.Errorf("secret %s is not a JSON object, so it has no key %s", r.SecretID, r.JSONKey)
	}
	raw, ok := obj[r.JSONKey]
	if !ok {
		return "", fmt.Errorf("secret %s has no key %s", r.SecretID, r.JSONKey)
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str, nil
	}
	return string(raw), nil
}

// checkEnvVars validates API-given variables (project or override).
func checkEnvVars(field string, vars []EnvVar) error {
	for i, v := range vars {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case v.Name == "":
			return errorf(ErrInvalid, "%s.name must not be empty", at)
		case strings.HasPrefix(v.Name, "CODEBUILD_"):
			return errorf(ErrInvalid, "%s.name %s: names starting with CODEBUILD_ are reserved", at, v.Name)
		case strings.ContainsAny(v.Name, "=\x00"):
			return errorf(ErrInvalid, "%s.name %q is not a valid environment variable name", at, v.Name)
		}
		switch v.Type {
		case "", EnvPlaintext, EnvParameterStore:
		case EnvSecretsManager:
			if _, err := ParseSecretRef(v.Value); err != nil {
				return errorf(ErrInvalid, "%s.value: %v", at, err)
			}
		default:
			return errorf(ErrInvalid, "%s.type %q is not one of PLAINTEXT, PARAMETER_STORE, SECRETS_MANAGER", at, v.Type)
		}
	}
	return nil
}
