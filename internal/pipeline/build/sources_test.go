package build

import (
	"archive/zip"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// TestLocalSources: an S3 source on this server is a local directory
// (copied, so the build cannot change it) or a local .zip; the buildspec
// comes from the source when the project names none; secondary sources
// land in CODEBUILD_SRC_DIR_<identifier>.
func TestLocalSources(t *testing.T) {
	h := newHarness(t, nil)
	dir := tree(t, map[string]string{
		"buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands:\n      - cat app.txt\n      - cat $CODEBUILD_SRC_DIR_extra/extra.txt\n      - echo changed > app.txt\n",
		"app.txt":       "from-the-directory",
	})
	zipPath := filepath.Join(t.TempDir(), "extra.zip")
	f, _ := os.Create(zipPath)
	zw := zip.NewWriter(f)
	w, _ := zw.Create("extra.txt")
	w.Write([]byte("from-the-zip"))
	zw.Close()
	f.Close()

	p := testProject("local", "")
	p.Source = Source{Type: SourceS3, Location: dir}
	p.SecondarySources = []Source{{Type: SourceS3, Location: "file://" + zipPath, SourceIdentifier: "extra"}}
	h.project(p)
	b := h.wait(h.start(StartRequest{Project: "local"}).ID)
	log := h.log(b)
	if b.Status != StatusSucceeded || !strings.Contains(log, "from-the-directory") || !strings.Contains(log, "from-the-zip") {
		t.Fatalf("%s %s\n%s", b.Status, phases(b), log)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "app.txt")); string(data) != "from-the-directory" {
		t.Errorf("the build changed its source directory: %q", data)
	}

	// A buildspec file that is not there fails DOWNLOAD_SOURCE.
	b = h.wait(h.start(StartRequest{Project: "local", BuildspecOverride: "ci/missing.yml"}).ID)
	if ph := b.phase(PhaseDownloadSource); ph.Status != StatusFailed || ph.Contexts[0].StatusCode != "YAML_FILE_ERROR" {
		t.Errorf("missing buildspec file: %+v", ph)
	}
}

// TestRunAs runs the build as another user when the server is root.
func TestRunAs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch users")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	h := newHarness(t, nil)
	b := h.run("runas", "version: 0.2\nrun-as: nobody\nenv:\n  exported-variables: [WHO]\nphases:\n  build:\n    commands:\n      - echo uid=$(id -u)\n      - export WHO=$(id -un)\n")
	if len(b.ExportedVariables) != 1 || b.ExportedVariables[0].Value != "nobody" {
		t.Errorf("exported %+v", b.ExportedVariables)
	}
	if log := h.log(b); b.Status != StatusSucceeded || !strings.Contains(log, "uid="+u.Uid) {
		t.Errorf("%s %s\n%s", b.Status, phases(b), log)
	}
}
