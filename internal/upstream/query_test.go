package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	blobfs "github.com/artifactd/registry/internal/blob/fs"
	"github.com/artifactd/registry/internal/domain"
)

// TestQuery: an uncached GET relative to the base URL; statuses map to
// the error kinds of every call.
func TestQuery(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/registry/-/v1/search":
			if r.Header.Get("Accept") != "application/json" {
				http.Error(w, "accept", http.StatusBadRequest)
				return
			}
			w.Write([]byte(`{"q":"` + r.URL.Query().Get("text") + `"}`))
		case "/registry/gone":
			http.Error(w, "gone", http.StatusNotFound)
		default:
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	blobs, err := blobfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Name: "q", BaseURL: srv.URL + "/registry/", Blobs: blobs, SpoolDir: t.TempDir(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 2 {
		b, err := c.Query(ctx, "-/v1/search?text=pad", "application/json")
		if err != nil || string(b) != `{"q":"pad"}` {
			t.Fatalf("query %d: %q %v", i, b, err)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("%d upstream requests for two queries, want 2 (never cached)", n)
	}
	if _, err := c.Query(ctx, "gone", ""); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("404: %v", err)
	}
	if _, err := c.Query(ctx, "fails", ""); !errors.Is(err, ErrUpstreamUnavailable) {
		t.Errorf("500: %v", err)
	}
	if _, err := c.Query(ctx, "ftp://elsewhere/x", ""); domain.KindOf(err) != domain.ErrInvalid {
		t.Errorf("non-http URL: %v", err)
	}
	c.Close()
	if _, err := c.Query(ctx, "-/v1/search", ""); !errors.Is(err, ErrUpstreamUnavailable) {
		t.Errorf("after Close: %v", err)
	}
}
