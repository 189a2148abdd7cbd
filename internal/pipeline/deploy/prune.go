package deploy

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
)

// maxRevisions is how many deployment directories an instance keeps per
// group, as the CodeDeploy agent's max_revisions; the last successful
// one is always kept, for ApplicationStop and rollback.
const maxRevisions = 5

// pruneWork removes the unpacked revisions of the group's finished
// deployments except the last good one's, which a rollback reuses, and
// those of deployments in flight.
func (s *Service) pruneWork(ctx context.Context, app, group string) error {
	keep := map[string]bool{}
	good, err := s.lastGood(ctx, app, group)
	if err != nil {
		return err
	}
	if good != nil {
		keep[good.Bundle] = true
	}
	s.mu.Lock()
	var inflight []string
	for id := range s.running {
		inflight = append(inflight, id)
	}
	s.mu.Unlock()
	for _, id := range inflight {
		if d, err := s.store.deployment(ctx, id); err == nil {
			keep[d.Bundle] = true
		}
	}
	var drop []string
	err = s.store.list(ctx, func(b []byte) error {
		var sd storedDeployment
		if err := json.Unmarshal(b, &sd); err != nil {
			return err
		}
		if dir := s.bundleDir(sd.DeploymentID); !keep[dir] {
			drop = append(drop, s.workDir(sd.DeploymentID))
		}
		return nil
	}, `SELECT doc FROM deployments WHERE application = ? AND deployment_group = ? AND status NOT IN ('Created', 'Queued', 'InProgress')`, app, group)
	for _, d := range drop {
		os.RemoveAll(d)
	}
	return err
}

// pruneInstance keeps the newest maxRevisions deployment directories of
// the job's group on its instance, and the last successful one.
func (j *job) pruneInstance() {
	entries, err := os.ReadDir(j.deployRoot())
	if err != nil {
		return
	}
	type rev struct {
		path string
		mod  int64
	}
	var revs []rev
	kept := map[string]bool{j.previous(): true, j.d.DeploymentID: true}
	for _, e := range entries {
		if !e.IsDir() || !validID(e.Name()) || kept[e.Name()] {
			continue
		}
		if info, err := e.Info(); err == nil {
			revs = append(revs, rev{filepath.Join(j.deployRoot(), e.Name()), info.ModTime().UnixNano()})
		}
	}
	room := maxRevisions
	for id := range kept {
		if _, err := os.Stat(filepath.Join(j.deployRoot(), id)); id != "" && err == nil {
			room--
		}
	}
	sort.Slice(revs, func(a, b int) bool { return revs[a].mod > revs[b].mod })
	for i, r := range revs {
		if i >= room {
			os.RemoveAll(r.path)
		}
	}
}
