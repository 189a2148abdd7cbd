package server

import (
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
