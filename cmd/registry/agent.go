package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"gopkg.in/yaml.v3"

	"github.com/artifactd/registry/internal/pipeline/deploy"
	"github.com/artifactd/registry/internal/pipeline/deploy/agentnats"
)

const agentUsage = `usage:
  registry agent --nats-url nats://HOST:PORT --name AGENT --instance NAME [--tags KEY=VALUE,...]
                 [--data-dir DIR] [--events-prefix PREFIX] [--nats-creds FILE]
                 [--start CMD] [--health-url URL | --health-command CMD] [--health-timeout SECONDS]

A CodeDeploy agent on another machine. It connects to the NATS server of a
registry (one run with nats_listen / --nats-listen, or the external NATS it
uses), registers the instance NAME as served by AGENT (its IAM session ARN
is arn:aws:sts::<account>:assumed-role/registry-agent/AGENT) with the tags,
and runs the in-place lifecycle of the deployments that reach the
instance: it fetches the revision from the server over NATS and runs the
hooks in DIR/instances/NAME/ with the same layout, environment and
timeouts as the server's local instances. --start (and a health check)
names the process it supervises there. It runs until interrupted; a
deployment that reaches it while it is gone fails that instance.
`

// agentCmd runs a remote CodeDeploy agent until ctx ends.
func agentCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("registry agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, agentUsage) }
	var natsURL, creds, name, dataDir, instance, tags, prefix string
	var proc deploy.ProcessSpec
	fs.StringVar(&natsURL, "nats-url", "", "the registry's NATS server (comma-separated for a cluster)")
	fs.StringVar(&creds, "nats-creds", "", "a NATS .creds file")
	fs.StringVar(&name, "name", "", "the agent's name (letters, digits, - and _)")
	fs.StringVar(&dataDir, "data-dir", "./agent-data", "where the agent keeps its instances")
	fs.StringVar(&instance, "instance", "", "the instance the agent serves")
	fs.StringVar(&tags, "tags", "", "the instance's tags KEY=VALUE separated by commas")
	fs.StringVar(&prefix, "events-prefix", "registry", "the registry's events_prefix")
	fs.StringVar(&proc.Start, "start", "", "command (run with /bin/sh -c in the instance root) the agent supervises")
	fs.StringVar(&proc.Health.URL, "health-url", "", "the process is healthy when this URL answers 2xx")
	fs.StringVar(&proc.Health.Command, "health-command", "", "the process is healthy when this command exits 0")
	fs.IntVar(&proc.Health.Timeout, "health-timeout", 0, "seconds the process has to become healthy (default 60)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || natsURL == "" || name == "" || instance == "" {
		fmt.Fprint(stderr, agentUsage)
		return exitError(2)
	}
	if !deploy.ValidAgentName(name) {
		return fmt.Errorf("--name %q: letters, digits, '-' and '_', at most 64", name)
	}
	if w := (deploy.Work{DeploymentID: "d-AAAAAAAAA", DeploymentGroupID: "g", Instance: instance}); w.Check() != nil {
		return fmt.Errorf("--instance %q: %v", instance, w.Check())
	}
	if prefix == "" || strings.ContainsAny(prefix, " .*>") {
		return fmt.Errorf("--events-prefix %q: want one NATS subject token", prefix)
	}
	tagList, err := parseTags(tags)
	if err != nil {
		return err
	}
	dataDir, err = filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	if proc.Start != "" || proc.Health.URL != "" || proc.Health.Command != "" {
		b, _ := yaml.Marshal(proc)
		if _, err := deploy.ParseProcessSpec(b); err != nil {
			return err
		}
		dir := filepath.Join(dataDir, "instances", instance)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, deploy.ProcessFile), b, 0o600); err != nil {
			return err
		}
	}
	opts := []nats.Option{nats.Name("registry-agent " + name), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second)}
	if creds != "" {
		opts = append(opts, nats.UserCredentials(creds))
	}
	nc, err := nats.Connect(natsURL, opts...)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", natsURL, err)
	}
	defer nc.Close()
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("agent", name)
	a := &agentnats.Agent{NC: nc, Prefix: prefix, Name: name, DataDir: dataDir, Log: log,
		Instances: []agentnats.Instance{{Name: instance, Tags: tagList}}}
	if err := a.Start(); err != nil {
		return err
	}
	defer a.Close()
	// The server may still be starting: retry the registration.
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := a.Register(rctx)
		cancel()
		if err == nil {
			break
		}
		var refused *agentnats.RefusedError
		if errors.As(err, &refused) {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("registering, retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	fmt.Fprintf(stdout, "agent %s serving instance %s (%s)\n", name, instance, filepath.Join(dataDir, "instances", instance))
	<-ctx.Done()
	return nil
}

// parseTags reads --tags KEY=VALUE,KEY=VALUE.
func parseTags(tags string) ([]deploy.Tag, error) {
	var out []deploy.Tag
	for _, kv := range strings.Split(tags, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--tags: %q is not KEY=VALUE", kv)
		}
		out = append(out, deploy.Tag{Key: k, Value: v})
	}
	return out, nil
}
