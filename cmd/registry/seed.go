package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/artifactd/registry/internal/formats/maven/seed"
)

// mavenSeed is "registry maven-seed": upload a local Maven repository
// directory into a registry repository (see package seed). The token is
// read from CODEARTIFACT_AUTH_TOKEN, never from the command line, so it
// does not show in process listings:
//
//	export CODEARTIFACT_AUTH_TOKEN=$(aws codeartifact get-authorization-token --domain acme --query authorizationToken --output text)
//	registry maven-seed --endpoint http://127.0.0.1:7373/maven/acme/shared/ ~/.m2/repository
func mavenSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("registry maven-seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "the repository's Maven endpoint (aws codeartifact get-repository-endpoint --format maven)")
	concurrency := fs.Int("concurrency", 4, "uploads in flight")
	noPublish := fs.Bool("no-publish", false, "leave the uploaded versions Unfinished (upload no maven-metadata.xml)")
	verbose := fs.Bool("v", false, "list the files that were skipped")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: registry maven-seed --endpoint URL [flags] DIRECTORY\n\n"+
			"Uploads a Maven repository directory (~/.m2/repository, /usr/share/maven-repo) with the token in\n"+
			"CODEARTIFACT_AUTH_TOKEN, and publishes what it uploaded.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *endpoint == "" {
		fs.Usage()
		return exitError(2)
	}
	rep, err := seed.Run(ctx, fs.Arg(0), seed.Options{Endpoint: *endpoint, Token: os.Getenv("CODEARTIFACT_AUTH_TOKEN"),
		Concurrency: *concurrency, NoPublish: *noPublish})
	if *verbose {
		for _, s := range rep.Skipped {
			fmt.Fprintf(stdout, "skipped %s: %s\n", s.Path, s.Reason)
		}
	}
	if err != nil && len(rep.Failed) == 0 {
		return err // nothing was sent: the directory or the context failed
	}
	for _, s := range rep.Failed {
		fmt.Fprintf(stderr, "failed %s: %s\n", s.Path, s.Reason)
	}
	fmt.Fprintf(stdout, "uploaded %d files: %d versions of %d artifacts, %d artifacts published, %d files skipped, %d failed\n",
		rep.Files, rep.Versions, rep.Artifacts, rep.Published, len(rep.Skipped), len(rep.Failed))
	if err != nil {
		return exitError(1)
	}
	return nil
}
