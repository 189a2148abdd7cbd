// Command registry is a self-hosted AWS CodeArtifact: npm, PyPI and Maven
// repositories behind the CodeArtifact API, with an embedded pipeline
// engine.
//
//	registry serve [--config FILE] [--listen ADDR] [--data-dir DIR] [--public-url URL] [--nats-url URL] ...
//	registry credentials [--data-dir DIR] --env
//	registry fsck [--data-dir DIR] [--verify]
//	registry gc [--data-dir DIR] [--grace DURATION]
//	registry maven-seed --endpoint URL DIR   (token from CODEARTIFACT_AUTH_TOKEN)
//
// Every flag has a REGISTRY_* environment twin and a config file key
// (config/registry.example.yaml).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/artifactd/registry/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: registry <command> [flags]

commands:
  serve         run the registry (zero configuration: ./data, 127.0.0.1:7373)
  credentials   print the root access key (--env: as shell exports)
  fsck          check metadata against blobs; exit 1 on a problem
  gc            delete blobs nothing references
  maven-seed    upload a local Maven repository tree into a repository
  purge         forget one package's cached upstream metadata (npm, pypi, maven)
  instance      register, list or deregister a CodeDeploy local instance
  agent         run a CodeDeploy agent for an instance on this machine (over NATS)

run "registry <command> -h" for the flags of a command.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stderr)
	case "credentials":
		err = credentials(ctx, args[1:], stdout, stderr)
	case "fsck":
		err = fsck(ctx, args[1:], stdout, stderr)
	case "gc":
		err = gc(ctx, args[1:], stdout, stderr)
	case "purge":
		err = purge(ctx, args[1:], stdout, stderr)
	case "maven-seed":
		err = mavenSeed(ctx, args[1:], stdout, stderr)
	case "instance":
		err = instanceCmd(ctx, args[1:], stdout, stderr)
	case "agent":
		err = agentCmd(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "registry: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ex exitError
	if errors.As(err, &ex) {
		return int(ex)
	}
	if err != nil {
		fmt.Fprintf(stderr, "registry %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// exitError ends the program with a status and no further message.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// loadConfig builds the configuration: defaults, then the YAML file
// (--config or REGISTRY_CONFIG), then REGISTRY_* variables, then the flags
// that were set. extra registers command-specific flags on fs first.
func loadConfig(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (config.Config, error) {
	fs := flag.NewFlagSet("registry "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("config", os.Getenv("REGISTRY_CONFIG"), "YAML configuration file")
	vals := map[string]*string{}
	for _, k := range config.Keys() {
		vals[k] = fs.String(k, "", config.Usage(k))
	}
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	if fs.NArg() > 0 {
		return config.Config{}, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	c := config.Default()
	var errs []error
	if *file != "" {
		errs = append(errs, c.LoadFile(*file))
	}
	errs = append(errs, c.LoadEnv(os.Environ()))
	fs.Visit(func(f *flag.Flag) {
		if p, ok := vals[f.Name]; ok {
			errs = append(errs, c.Apply(f.Name, *p))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}
