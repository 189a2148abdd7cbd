package server

import (
	"context"
	"testing"
	"time"
)

func TestDueForRelease(t *testing.T) {
	var a activity
	now := time.Now()
	if a.dueForRelease(now.Add(time.Hour), time.Second) {
		t.Error("due before any request")
	}
	a.begin()
	if a.dueForRelease(now.Add(time.Hour), time.Second) {
		t.Error("due with a request in flight")
	}
	a.end()
	if a.dueForRelease(time.Now(), time.Second) {
		t.Error("due right after a request")
	}
	later := time.Now().Add(2 * time.Second)
	if !a.dueForRelease(later, time.Second) {
		t.Fatal("not due after a quiet second")
	}
	a.released.Store(a.last.Load())
	if a.dueForRelease(later.Add(time.Hour), time.Second) {
		t.Error("due again with no request since the release")
	}
}

// The release functions run once per burst of requests, once it has been
// quiet, and not before.
func TestReleaseMemoryWhenIdle(t *testing.T) {
	s := &Server{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	released := make(chan struct{}, 10)
	go s.ReleaseMemoryWhenIdle(ctx, 20*time.Millisecond, func() { released <- struct{}{} })
	for burst := range 2 {
		s.activity.begin()
		select {
		case <-released:
			t.Fatalf("burst %d: released while a request was in flight", burst)
		case <-time.After(100 * time.Millisecond):
		}
		s.activity.end()
		select {
		case <-released:
		case <-time.After(10 * time.Second):
			t.Fatalf("burst %d: not released once idle", burst)
		}
		select {
		case <-released:
			t.Fatalf("burst %d: released twice", burst)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
