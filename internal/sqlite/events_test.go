package sqlite

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/artifactd/registry/internal/domain"
)

type detail struct {
	DomainName, RepositoryName, PackageFormat, PackageName, PackageVersion string
	PackageNamespace                                                       *string
	PackageVersionState, PackageVersionRevision, OperationType             string
	SequenceNumber                                                         int64
	EventDeduplicationID                                                   string `json:"eventDeduplicationId"`
	Changes                                                                struct {
		AssetsAdded, AssetsRemoved     int
		MetadataUpdated, StatusChanged bool
	}
}

func drain(t *testing.T, db *DB) []detail {
	t.Helper()
	evs, err := db.PendingEvents(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []detail
	var ids []int64
	for _, e := range evs {
		var d detail
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if d.EventDeduplicationID != e.DedupID || e.Subject != "codeartifact.acme.one."+d.PackageFormat {
			t.Fatalf("event %+v / %+v", e, d)
		}
		out = append(out, d)
		ids = append(ids, e.ID)
	}
	if err := db.MarkEventsSent(context.Background(), ids); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOutbox: every change to a version writes exactly one event in its
// own transaction, numbered per package; a failed change writes none.
func TestOutbox(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	db.SetAccount("123456789012")
	db.CreateDomain(ctx, "acme", "")
	db.CreateRepository(ctx, "acme", "one", "", "1", nil)
	if evs := drain(t, db); len(evs) != 0 {
		t.Fatalf("domain and repository changes are not package events: %+v", evs)
	}
	ref := domain.PackageRef{Format: domain.FormatGeneric, Namespace: "ns", Name: "p"}
	in := domain.AddAssetInput{Domain: "acme", Repository: "one", Ref: ref, Version: "1", Asset: asset("a", "x"), Unfinished: true}
	if _, err := db.AddAsset(ctx, in); err != nil {
		t.Fatal(err)
	}
	in.Asset, in.Unfinished = asset("b", "yy"), false
	if _, err := db.AddAsset(ctx, in); err != nil {
		t.Fatal(err)
	}
	evs := drain(t, db)
	if len(evs) != 2 || evs[0].OperationType != "Created" || evs[0].PackageVersionState != "Unfinished" || evs[0].Changes.AssetsAdded != 1 ||
		evs[1].OperationType != "Updated" || evs[1].PackageVersionState != "Published" || !evs[1].Changes.StatusChanged || evs[1].Changes.AssetsAdded != 1 {
		t.Fatalf("publish events: %+v", evs)
	}
	if evs[0].SequenceNumber != 1 || evs[1].SequenceNumber != 2 || *evs[0].PackageNamespace != "ns" {
		t.Fatalf("sequence numbers: %+v", evs)
	}
	// A refused change leaves no event.
	in.Asset = asset("b", "different")
	if _, err := db.AddAsset(ctx, in); err == nil {
		t.Fatal("conflicting asset accepted")
	}
	if evs := drain(t, db); len(evs) != 0 {
		t.Fatalf("a rolled-back change emitted %+v", evs)
	}
	bi := domain.BatchInput{Domain: "acme", Repository: "one", Ref: ref, Versions: []string{"1"}}
	db.UpdateStatus(ctx, bi, domain.StatusUnlisted)
	db.DisposeVersions(ctx, bi)
	evs = drain(t, db)
	if len(evs) != 2 || evs[0].PackageVersionState != "Unlisted" || evs[1].PackageVersionState != "Disposed" || evs[1].Changes.AssetsRemoved != 2 {
		t.Fatalf("status events: %+v", evs)
	}
	in.Version, in.Asset = "2", asset("c", "zzz")
	db.AddAsset(ctx, in)
	drain(t, db)
	if _, err := db.DeletePackage(ctx, "acme", "one", ref); err != nil {
		t.Fatal(err)
	}
	evs = drain(t, db)
	if len(evs) != 2 || evs[0].OperationType != "Deleted" || evs[1].OperationType != "Deleted" || evs[1].SequenceNumber != 7 {
		t.Fatalf("delete package events: %+v", evs)
	}
}
