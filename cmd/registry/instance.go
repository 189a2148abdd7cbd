package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"gopkg.in/yaml.v3"

	"github.com/artifactd/registry/config"
	"github.com/artifactd/registry/internal/pipeline/codedeploy"
	"github.com/artifactd/registry/internal/pipeline/deploy"
)

const instanceUsage = `usage:
  registry instance register NAME [--tags KEY=VALUE,...] [--start CMD] [--health-url URL | --health-command CMD]
                            [--health-timeout SECONDS] [--data-dir DIR]
  registry instance deregister NAME [--data-dir DIR]
  registry instance list [--data-dir DIR]

A local instance is a directory under the data directory (instances/NAME/)
that CodeDeploy deployment groups select by tag. The command calls the
running server's CodeDeploy API (RegisterOnPremisesInstance,
AddTagsToOnPremisesInstances, ...) with the root credentials of the data
directory. --start names the process the server supervises on the
instance (written to instances/NAME/instance.yml): deployments restart it
after ApplicationStart and wait for the health check.
`

// instanceCmd manages local CodeDeploy instances through the running
// server.
func instanceCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, instanceUsage)
		return exitError(2)
	}
	verb, rest := args[0], args[1:]
	name := ""
	if verb == "register" || verb == "deregister" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprint(stderr, instanceUsage)
			return exitError(2)
		}
		name, rest = rest[0], rest[1:]
	}
	var tags string
	var proc deploy.ProcessSpec
	c, err := loadConfig("instance "+verb, rest, stderr, func(fs *flag.FlagSet) {
		if verb == "register" {
			fs.StringVar(&tags, "tags", "", "tags KEY=VALUE separated by commas")
			fs.StringVar(&proc.Start, "start", "", "command (run with /bin/sh -c in the instance root) the server supervises")
			fs.StringVar(&proc.Health.URL, "health-url", "", "the process is healthy when this URL answers 2xx")
			fs.StringVar(&proc.Health.Command, "health-command", "", "the process is healthy when this command exits 0")
			fs.IntVar(&proc.Health.Timeout, "health-timeout", 0, "seconds the process has to become healthy (default 60)")
		}
	})
	if err != nil {
		return err
	}
	cl, err := newDeployClient(c)
	if err != nil {
		return err
	}
	switch verb {
	case "register":
		tagList, err := parseTags(tags)
		if err != nil {
			return err
		}
		if _, err := cl.call(ctx, "RegisterOnPremisesInstance", map[string]any{"instanceName": name, "iamUserArn": "arn:aws:iam::" + cl.account + ":root"}); err != nil {
			return err
		}
		if proc.Start != "" || proc.Health.URL != "" || proc.Health.Command != "" {
			b, _ := yaml.Marshal(proc)
			if _, err := deploy.ParseProcessSpec(b); err != nil {
				return err
			}
			if err := os.WriteFile(c.Path(filepath.Join("instances", name, deploy.ProcessFile)), b, 0o600); err != nil {
				return err
			}
		}
		if len(tagList) > 0 {
			if _, err := cl.call(ctx, "AddTagsToOnPremisesInstances", map[string]any{"instanceNames": []string{name}, "tags": tagList}); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "registered instance %s (%s)\n", name, c.Path("instances/"+name))
	case "deregister":
		if _, err := cl.call(ctx, "DeregisterOnPremisesInstance", map[string]any{"instanceName": name}); err != nil {
			return err
		}
	case "list":
		out, err := cl.call(ctx, "ListOnPremisesInstances", map[string]any{"registrationStatus": "Registered"})
		if err != nil {
			return err
		}
		var res struct{ InstanceNames []string }
		json.Unmarshal(out, &res)
		for _, n := range res.InstanceNames {
			fmt.Fprintln(stdout, n)
		}
	default:
		fmt.Fprintf(stderr, "registry instance: unknown command %q\n\n%s", verb, instanceUsage)
		return exitError(2)
	}
	return nil
}

// deployClient calls the running server's CodeDeploy API with the root
// key, signed with SigV4.
type deployClient struct {
	endpoint, region, account string
	creds                     aws.Credentials
}

func newDeployClient(c config.Config) (*deployClient, error) {
	ep, err := os.ReadFile(c.Path(endpointFile))
	if err != nil {
		return nil, fmt.Errorf("is the server running with --data-dir %s? %w", c.DataDir, err)
	}
	b, err := os.ReadFile(c.Path(rootCredentialsFile))
	if err != nil {
		return nil, err
	}
	var rc rootCredentials
	if err := json.Unmarshal(b, &rc); err != nil {
		return nil, fmt.Errorf("%s: %w", rootCredentialsFile, err)
	}
	return &deployClient{endpoint: strings.TrimSpace(string(ep)), region: c.Region, account: rc.Account,
		creds: aws.Credentials{AccessKeyID: rc.AccessKeyID, SecretAccessKey: rc.SecretAccessKey}}, nil
}

func (d *deployClient) call(ctx context.Context, op string, in any) ([]byte, error) {
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Amz-Target", codedeploy.TargetPrefix+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", h)
	if err := v4.NewSigner().SignHTTP(ctx, d.creds, req, h, codedeploy.SigningName, d.region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		json.Unmarshal(out, &e)
		if e.Type == "" {
			return nil, errors.New(resp.Status)
		}
		return nil, fmt.Errorf("%s: %s: %s", op, e.Type, e.Message)
	}
	return out, nil
}
