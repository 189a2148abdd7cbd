package build

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBuildEventsInOutbox: each build event is in the outbox (subject
// codebuild.<project>, the Event as body, its dedup id) as soon as
// Config.Events sees it, in the same order.
func TestBuildEventsInOutbox(t *testing.T) {
	h := newHarness(t, nil)
	b := h.run("boxed", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n")
	if b.Status != StatusSucceeded {
		t.Fatalf("build %s", b.Status)
	}
	msgs, err := h.svc.Outbox().Pending(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var hook, box []string
	for _, ev := range h.events.all() {
		hook = append(hook, ev.DedupID)
	}
	for _, m := range msgs {
		var ev Event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		if m.Subject != "codebuild.boxed" || ev.Source != "aws.codebuild" || !strings.HasPrefix(ev.DetailType, "CodeBuild Build ") {
			t.Errorf("outbox message %s %s", m.Subject, m.Data)
		}
		box = append(box, m.DedupID)
	}
	if len(hook) == 0 || !slices.Equal(hook, box) || hook[0] != b.ID+"/IN_PROGRESS" || hook[len(hook)-1] != b.ID+"/SUCCEEDED" {
		t.Errorf("dedup ids\n hook   %v\n outbox %v", hook, box)
	}
}

// TestCredentialsHook: the variables of Config.Credentials reach the
// build, its files directory is inside the workspace, and its secrets are
// masked in the log.
func TestCredentialsHook(t *testing.T) {
	var gotRepos []Repository
	h := newHarness(t, func(c *Config) {
		c.Credentials = func(_ context.Context, b *Build, dir string) (map[string]string, []string, error) {
			gotRepos = b.Request.Repositories
			if err := os.WriteFile(filepath.Join(dir, "npmrc"), []byte("registry=x\n"), 0o600); err != nil {
				return nil, nil, err
			}
			return map[string]string{"REG_TOKEN": "tok-credential-93af1", "REG_RC": filepath.Join(dir, "npmrc")}, []string{"tok-credential-93af1"}, nil
		}
	})
	h.project(testProject("cred", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo token=$REG_TOKEN\n      - grep -q registry= \"$REG_RC\"\n"))
	b := h.wait(h.start(StartRequest{Project: "cred", Repositories: []Repository{{Domain: "acme", Repository: "libs", Format: "npm"}}}).ID)
	log := h.log(b)
	if b.Status != StatusSucceeded {
		t.Fatalf("build %s:\n%s", b.Status, log)
	}
	if strings.Contains(log, "tok-credential-93af1") || !strings.Contains(log, "token=***") {
		t.Errorf("the token is not masked:\n%s", log)
	}
	if len(gotRepos) != 1 || gotRepos[0].Domain != "acme" {
		t.Errorf("repositories %v", gotRepos)
	}
}
