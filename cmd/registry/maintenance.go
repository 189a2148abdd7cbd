package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/artifactd/registry/internal/blob"
	"github.com/artifactd/registry/internal/pipeline/engine"
)

// fsck checks both sides: every blob the metadata references exists in the
// blob store with its recorded size (and, with --verify, its digest), and
// SQLite's own integrity. Unreferenced blobs are reported, not failures.
func fsck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var verify bool
	c, err := loadConfig("fsck", args, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&verify, "verify", false, "re-hash every referenced blob")
	})
	if err != nil {
		return err
	}
	a, err := openStores(ctx, c, newLogger(c, stderr))
	if err != nil {
		return err
	}
	defer a.db.Close()
	problems, err := a.db.Check(ctx)
	if err != nil {
		return err
	}
	rows, err := a.db.Blobs(ctx)
	if err != nil {
		return err
	}
	referenced, unreferenced := 0, 0
	for sha, b := range rows {
		if !b.Referenced {
			continue
		}
		referenced++
		info, err := a.blobs.Stat(ctx, sha)
		if err != nil {
			problems = append(problems, fmt.Sprintf("blob %s: %v", sha, err))
			continue
		}
		if info.Size != b.Size {
			problems = append(problems, fmt.Sprintf("blob %s: size %d, metadata says %d", sha, info.Size, b.Size))
			continue
		}
		if verify {
			if got, err := hashBlob(ctx, a.blobs, sha); err != nil || got != sha {
				problems = append(problems, fmt.Sprintf("blob %s: content hashes to %s (%v)", sha, got, err))
			}
		}
	}
	err = a.blobs.Walk(ctx, func(i blob.Info) error {
		if b, ok := rows[i.Digest]; !ok || !b.Referenced {
			unreferenced++
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "referenced blobs: %d, unreferenced blobs: %d (collected by gc), problems: %d\n", referenced, unreferenced, len(problems))
	for _, p := range problems {
		fmt.Fprintln(stdout, "problem:", p)
	}
	if len(problems) > 0 {
		return exitError(1)
	}
	return nil
}

func hashBlob(ctx context.Context, s blob.Store, digest string) (string, error) {
	f, _, err := s.Open(ctx, digest)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// gc is a mark-and-sweep over the blob store: a blob no asset references
// and older than the grace period (so an in-flight publish, whose blob is
// written before its metadata commits, is spared) is deleted, with its row.
func gc(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var grace time.Duration
	c, err := loadConfig("gc", args, stderr, func(fs *flag.FlagSet) {
		fs.DurationVar(&grace, "grace", time.Hour, "spare unreferenced blobs younger than this")
	})
	if err != nil {
		return err
	}
	a, err := openStores(ctx, c, newLogger(c, stderr))
	if err != nil {
		return err
	}
	defer a.db.Close()
	keep, err := pipelineBlobs(ctx, c.Path("pipelines.db"), c.Path("builds.db"))
	if err != nil {
		return err
	}
	cutoff := time.Now().Add(-grace)
	var victims []blob.Info
	err = a.blobs.Walk(ctx, func(i blob.Info) error {
		if i.ModTime.Before(cutoff) && !keep[i.Digest] {
			victims = append(victims, i)
		}
		return nil
	})
	if err != nil {
		return err
	}
	deleted, freed := 0, int64(0)
	for _, i := range victims {
		ref, err := a.db.IsReferenced(ctx, i.Digest)
		if err != nil {
			return err
		}
		if ref {
			continue
		}
		if _, err := a.db.DropBlobRow(ctx, i.Digest); err != nil {
			return err
		}
		if err := a.blobs.Delete(ctx, i.Digest); err != nil {
			return err
		}
		deleted++
		freed += i.Size
	}
	if t, ok := a.blobs.(blob.TempCleaner); ok {
		if err := t.CleanTemp(ctx, grace); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "deleted %d unreferenced blobs, %d bytes\n", deleted, freed)
	return nil
}

var digestRE = regexp.MustCompile(`\b[0-9a-f]{64}\b`)

// pipelineBlobs returns the digests the pipeline engine and the build
// service reference (artifacts live in the blob store, referenced from
// their own databases, not from registry.db), so gc spares them.
func pipelineBlobs(ctx context.Context, pipelinesDB, buildsDB string) (map[string]bool, error) {
	keep := map[string]bool{}
	err := engine.ReferencedBlobs(ctx, pipelinesDB, func(d string) error { keep[d] = true; return nil })
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(buildsDB); errors.Is(err, os.ErrNotExist) {
		return keep, nil
	}
	db, err := sql.Open("sqlite3", "file:"+buildsDB+"?mode=ro&_busy_timeout=10000&_query_only=true")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT doc FROM builds`)
	if err != nil {
		return nil, fmt.Errorf("builds of %s: %w", buildsDB, err)
	}
	defer rows.Close()
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		for _, d := range digestRE.FindAllString(doc, -1) {
			keep[d] = true // a build document names its artifacts' digests
		}
	}
	return keep, rows.Err()
}
