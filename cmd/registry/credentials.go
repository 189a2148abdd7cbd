package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/artifactd/registry/config"
	"github.com/artifactd/registry/internal/domain"
)

// Files of the data directory written by serve.
const (
	rootCredentialsFile = "root-credentials.json" // mode 0600
	endpointFile        = "endpoint"              // the URL the running server answers on
)

type rootCredentials struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	Account         string `json:"account_id"`
}

// writeRootCredentials saves the root key, mode 0600, atomically.
func writeRootCredentials(c config.Config, account string, k domain.AccessKey) error {
	b, _ := json.MarshalIndent(rootCredentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret, Account: account}, "", "  ")
	path := c.Path(rootCredentialsFile)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".root-credentials-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func credentials(_ context.Context, args []string, stdout, stderr io.Writer) error {
	var env bool
	c, err := loadConfig("credentials", args, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&env, "env", false, "print shell exports for the aws CLI")
	})
	if err != nil {
		return err
	}
	b, err := os.ReadFile(c.Path(rootCredentialsFile))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no root credentials in %s: run \"registry serve --data-dir %s\" once first", c.DataDir, c.DataDir)
	}
	if err != nil {
		return err
	}
	var rc rootCredentials
	if err := json.Unmarshal(b, &rc); err != nil {
		return fmt.Errorf("%s: %w", c.Path(rootCredentialsFile), err)
	}
	endpoint := c.BaseURL()
	if c.PublicURL == "" {
		if e, err := os.ReadFile(c.Path(endpointFile)); err == nil {
			endpoint = strings.TrimSpace(string(e))
		}
	}
	if !env {
		fmt.Fprintf(stdout, "access key id:     %s\nsecret access key: %s\naccount:           %s\nendpoint:          %s\nregion:            %s\n",
			rc.AccessKeyID, rc.SecretAccessKey, rc.Account, endpoint, c.Region)
		return nil
	}
	for _, kv := range [][2]string{
		{"AWS_ACCESS_KEY_ID", rc.AccessKeyID}, {"AWS_SECRET_ACCESS_KEY", rc.SecretAccessKey},
		{"AWS_ENDPOINT_URL", endpoint}, {"AWS_REGION", c.Region}, {"AWS_DEFAULT_REGION", c.Region},
	} {
		fmt.Fprintf(stdout, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
