package config

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// PyPISimple is the simple index public:pypi uses when neither the
// configuration nor pip's own settings name one (pip's own default).
const PyPISimple = "https://pypi.org/simple/"

// MavenCentral is the repository public:maven-central uses when the
// configuration names none (the one mvn's super-POM names).
const MavenCentral = "https://repo.maven.apache.org/maven2/"

// DefaultPyPIUpstream returns the index pip's configuration names on this
// machine: PIP_INDEX_URL in environ, else `pip config get
// global.index-url`, else PyPISimple.
func DefaultPyPIUpstream(ctx context.Context, environ []string) string {
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); k == "PIP_INDEX_URL" && v != "" {
			return v
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for _, pip := range []string{"pip3", "pip"} {
		cmd := exec.CommandContext(ctx, pip, "config", "get", "global.index-url")
		cmd.Env = environ
		if out, err := cmd.Output(); err == nil {
			if u := strings.TrimSpace(string(out)); isHTTPURL(u) {
				return u
			}
		}
	}
	return PyPISimple
}
