package engine

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/artifactd/registry/internal/pipeline"
)

// TestPackageEventBatch: HandlePackageEvents starts, for a batch of
// events, exactly what handling them one by one would: one execution per
// pipeline and matching event, each with its own event's version, a
// deduplication id repeated inside the batch or in a later delivery of
// the batch starting nothing more.
func TestPackageEventBatch(t *testing.T) {
	t.Parallel()
	reg := &registry{}
	h := newHarness(t, func(o *Options) { o.Packages = reg })
	reg.blobs = h.blobs
	ctx := context.Background()
	check := cmds("Use", 1, []string{"Pkg"}, nil, "test \"$(cat package.tgz)\" = '#{PkgVars.PackageName} #{PkgVars.PackageVersion}'")
	for name, pkg := range map[string]string{"libs": "lib", "others": "other"} {
		d := decl(name, stage("Source", caSource(map[string]string{"PackageName": pkg})), stage("Use", check))
		d.ExecutionMode = pipeline.ModeParallel
		h.create(d)
	}
	for _, v := range []PackageVersion{{Name: "lib", Version: "1.0.0"}, {Name: "lib", Version: "1.1.0"}, {Name: "other", Version: "1.0.0"}} {
		v.Domain, v.Repository, v.Format, v.Namespace, v.Revision = "acme", "main", "npm", "acme", "r-"+v.Version
		reg.add(t, v, map[string]string{"package.tgz": v.Name + " " + v.Version})
	}
	batch := []pipeline.PackageEvent{
		published("lib", "acme", "1.0.0", "d1"),
		published("lib", "acme", "1.1.0", "d2"),
		published("other", "acme", "1.0.0", "d3"),
		published("lib", "acme", "1.0.0", "d1"), // delivered twice
	}
	ids, err := h.e.HandlePackageEvents(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, id := range ids {
		var p, detail string
		if err := h.e.db.sql.QueryRow(`SELECT pipeline, trigger_detail FROM executions WHERE id = ?`, id).Scan(&p, &detail); err != nil {
			t.Fatal(err)
		}
		h.waitStatus(p, id, pipeline.StatusSucceeded) // the source artifact was its own event's version
		_, v, _ := strings.Cut(detail, "@")
		got = append(got, p+" "+v)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "libs 1.0.0,libs 1.1.0,others 1.0.0" {
		t.Fatalf("started %q", got)
	}
	if again, err := h.e.HandlePackageEvents(ctx, batch); err != nil || len(again) != 0 {
		t.Fatalf("the batch delivered again started %v (%v)", again, err)
	}
}
