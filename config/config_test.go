package config

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte("listen: 127.0.0.1:9000\ndata_dir: /from/file\nregion: eu-west-1\n"), 0o600)
	c := Default()
	if err := c.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadEnv([]string{"REGISTRY_DATA_DIR=/from/env", "PATH=/bin", "REGISTRY_CONFIG=ignored"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply("region", "ap-south-1"); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.DataDir != "/from/env" || c.Region != "ap-south-1" {
		t.Fatalf("got %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestExampleFileIsTheDefaults(t *testing.T) {
	c := Default()
	if err := c.LoadFile("registry.example.yaml"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Fatalf("example file differs from defaults:\n%+v\n%+v", c, Default())
	}
}

func TestValidateReportsEverything(t *testing.T) {
	c := Default()
	c.Listen = "nope"
	c.Blob.Backend = "s3"
	c.Log.Level = "loud"
	c.AccountID = "12"
	c.ShutdownTimeout = -time.Second
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"listen", "blob.s3.endpoint", "blob.s3.bucket", "log.level", "account_id", "shutdown_timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestUnknownInputsAreErrors(t *testing.T) {
	c := Default()
	if err := c.LoadEnv([]string{"REGISTRY_LISTN=x"}); err == nil {
		t.Error("unknown env var accepted")
	}
	if err := c.Apply("max-asset-bytes", "lots"); err == nil {
		t.Error("bad number accepted")
	}
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("lisen: x\n"), 0o600)
	if err := c.LoadFile(file); err == nil {
		t.Error("unknown yaml key accepted")
	}
}

func TestBaseURL(t *testing.T) {
	for _, tc := range []struct{ listen, public, want string }{
		{"127.0.0.1:7373", "", "http://127.0.0.1:7373"},
		{"0.0.0.0:80", "", "http://127.0.0.1:80"},
		{"127.0.0.1:7373", "https://reg.example/", "https://reg.example"},
	} {
		c := Default()
		c.Listen, c.PublicURL = tc.listen, tc.public
		if got := c.BaseURL(); got != tc.want {
			t.Errorf("%+v: got %s", tc, got)
		}
	}
}

func TestDefaultNPMUpstreamFromEnvironment(t *testing.T) {
	got, err := DefaultNPMUpstream(context.Background(), []string{"PATH=", "npm_config_registry=http://mirror.example.internal/npm/"})
	if err != nil || got != "http://mirror.example.internal/npm/" {
		t.Fatalf("got %q, %v", got, err)
	}
	c := Default()
	if err := c.LoadEnv([]string{"REGISTRY_NPM_UPSTREAM=ftp://x"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "npm_upstream") {
		t.Fatalf("a non-http npm_upstream must be rejected: %v", err)
	}
}

func TestExternalConnectionsAndPreferCached(t *testing.T) {
	c := Default()
	if err := c.Apply("external-connection", "acme:npm=npm=http://mirror.example.internal/npm/,acme:py=pypi=https://py.example.internal/simple/"); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply("prefer-cached", "acme/ci, acme/app"); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []Connection{{"acme:npm", "npm", "http://mirror.example.internal/npm/"}, {"acme:py", "pypi", "https://py.example.internal/simple/"}}
	if !reflect.DeepEqual(c.ExternalConnections, want) || !reflect.DeepEqual(c.PreferCached, []string{"acme/ci", "acme/app"}) {
		t.Fatalf("parsed %+v %v", c.ExternalConnections, c.PreferCached)
	}
	if err := c.Apply("external-connection", "broken"); err == nil {
		t.Fatal("a connection without format and url must be rejected")
	}
	c.ExternalConnections = append(c.ExternalConnections, Connection{"public:npmjs", "rubygems", "ftp://x"})
	c.PreferCached = append(c.PreferCached, "norepo")
	err := c.Validate()
	for _, frag := range []string{"public:", "rubygems", "ftp://x", "norepo"} {
		if err == nil || !strings.Contains(err.Error(), frag) {
			t.Fatalf("validation must name %q: %v", frag, err)
		}
	}
}

func TestConnectionSecretsNotInErrors(t *testing.T) {
	c := Default()
	c.ExternalConnections = []Connection{{"acme:mirror", "npm", "ftp://aws:s3cr3t@mirror.example.internal/"}}
	c.NPMUpstream = "gopher://u:hunter2@example.internal/"
	err := c.Validate()
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("validation must refuse the URLs without repeating their passwords: %v", err)
	}
}

func TestMemoryKeys(t *testing.T) {
	c := Default()
	for k, v := range map[string]string{"rendered-cache-bytes": "4194304", "memory-limit": "100000000", "debug-listen": "127.0.0.1:6060"} {
		if err := c.Apply(k, v); err != nil {
			t.Fatalf("%s=%s: %v", k, v, err)
		}
	}
	if c.RenderedCacheBytes != 4<<20 || c.MemoryLimit != 1e8 || c.DebugListen != "127.0.0.1:6060" {
		t.Fatalf("applied: %d %d %q", c.RenderedCacheBytes, c.MemoryLimit, c.DebugListen)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if d := Default(); d.DebugListen != "" || d.MemoryLimit != 128<<20 || d.RenderedCacheBytes != 8<<20 {
		t.Errorf("defaults: debug_listen %q, memory_limit %d, rendered_cache_bytes %d", d.DebugListen, d.MemoryLimit, d.RenderedCacheBytes)
	}
	c.RenderedCacheBytes, c.MemoryLimit, c.DebugListen = 1000, -1, "6060"
	err := c.Validate()
	for _, want := range []string{"rendered_cache_bytes", "memory_limit", "debug_listen"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; want an error naming %s", err, want)
		}
	}
}
