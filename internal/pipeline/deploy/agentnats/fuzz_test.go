package agentnats

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzWorkRequest: work an agent receives from the network either fails
// Check or names an instance directory inside the agent's data directory
// and a deployment directory inside that.
func FuzzWorkRequest(f *testing.F) {
	f.Add(`{"work":{"applicationName":"shop","deploymentGroupName":"prod","deploymentGroupId":"g-1","deploymentId":"d-ABCDEFGH1","instance":"web-1"},"token":"t","inbox":"i","heartbeatMs":100}`)
	f.Add(`{"work":{"deploymentGroupId":"../x","deploymentId":"d-ABCDEFGH1","instance":".."}}`)
	f.Add(`{"work":{"deploymentGroupId":"g","deploymentId":"d-../../x","instance":"a/b"}}`)
	f.Fuzz(func(t *testing.T, s string) {
		var r workReq
		if json.Unmarshal([]byte(s), &r) != nil || r.Work.Check() != nil {
			return
		}
		base := "/data/instances"
		dir := filepath.Join(base, r.Work.Instance)
		if !strings.HasPrefix(dir, base+"/") || filepath.Dir(dir) != base {
			t.Fatalf("instance %q leaves the data directory: %s", r.Work.Instance, dir)
		}
		rev := filepath.Join(dir, "deployment-root", r.Work.DeploymentGroupID, r.Work.DeploymentID)
		if filepath.Dir(filepath.Dir(rev)) != filepath.Join(dir, "deployment-root") {
			t.Fatalf("work %+v leaves the instance: %s", r.Work, rev)
		}
	})
}
