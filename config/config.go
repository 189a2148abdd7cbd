// Package config is the registry's typed configuration: defaults, then a
// YAML file, then REGISTRY_* environment variables, then command-line flags,
// validated once with every problem reported together.
//
// registry.example.yaml in this directory documents every key.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration of one registry process.
type Config struct {
	// Listen is the HTTP listen address (host:port).
	Listen string `yaml:"listen"`
	// DataDir holds the database, the filesystem blobs, the root key and the
	// embedded NATS state.
	DataDir string `yaml:"data_dir"`
	// PublicURL is the base URL clients reach this server at; repository
	// endpoints are built from it. Default: http://<listen>.
	PublicURL string `yaml:"public_url"`
	// Region is the AWS region the server reports and expects in signatures.
	Region string `yaml:"region"`
	// AccountID is the 12-digit account id of this installation; empty means
	// the one generated on first start.
	AccountID string `yaml:"account_id"`
	// NATSURL selects an external NATS server; empty runs an embedded one
	// that binds no port.
	NATSURL string `yaml:"nats_url"`
	// NATSCredentials is a NATS credentials (.creds) file for NATSURL.
	NATSCredentials string `yaml:"nats_credentials"`
	// NATSListen makes the embedded NATS server listen on host:port so
	// other processes can subscribe; empty binds no port.
	NATSListen string `yaml:"nats_listen"`
	// EventsPrefix is the first token of every event subject.
	EventsPrefix string `yaml:"events_prefix"`
	// Blob selects and configures the blob store.
	Blob Blob `yaml:"blob"`
	// Log configures logging.
	Log Log `yaml:"log"`
	// MaxAssetBytes bounds a single uploaded asset.
	MaxAssetBytes int64 `yaml:"max_asset_bytes"`
	// NPMMaxPublishBytes bounds the body of an npm publish (the tarball
	// travels base64-encoded inside it, a third larger than the file).
	NPMMaxPublishBytes int64 `yaml:"npm_max_publish_bytes"`
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// NPMUpstream is the registry URL of the external connection
	// public:npmjs. Empty means the registry npm's own configuration names
	// on this machine, read at startup (DefaultNPMUpstream).
	NPMUpstream string `yaml:"npm_upstream"`
	// PyPIUpstream is the simple-index URL of public:pypi. Empty means
	// pip's own configuration (PIP_INDEX_URL, else `pip config get
	// global.index-url`), else PyPI's simple index.
	PyPIUpstream string `yaml:"pypi_upstream"`
	// MavenUpstream is the repository URL of public:maven-central. Empty
	// means Maven Central's default repository, the one mvn uses.
	MavenUpstream string `yaml:"maven_upstream"`
	// ExternalConnections are custom named external connections (a
	// company's own mirror), associated like the public ones.
	ExternalConnections []Connection `yaml:"external_connections"`
	// PreferCached lists repositories ("domain/repository") that serve
	// cached upstream metadata without revalidating it (offline and CI
	// use); upstream is asked only for what was never cached.
	PreferCached []string `yaml:"prefer_cached"`
	// CodeDeployMinute is how long a "minute" of CodeDeploy traffic
	// routing (canary and linear intervals) and blue/green wait times
	// lasts; shorter values are for tests and demos.
	CodeDeployMinute time.Duration `yaml:"codedeploy_minute"`
	// RenderedCacheBytes bounds, in bytes, the documents the formats keep
	// rendered (npm packuments, PyPI pages, Maven metadata; all formats
	// together; only their gzip bytes are kept). Default 8 MiB. Their
	// bytes are kept in unlinked files under the data directory's cache/
	// (in the page cache, as a file server's are): a document larger than
	// a sixteenth of the budget in a file of its own, sent with sendfile
	// (and not counted), the others page-aligned in one shared file (and
	// counted by their pages); gzip bodies under 1 KiB stay in the heap.
	RenderedCacheBytes int64 `yaml:"rendered_cache_bytes"`
	// MemoryLimit is the Go runtime's soft memory limit in bytes
	// (runtime/debug.SetMemoryLimit): near it the garbage collector runs
	// more often instead of letting the heap double. Default 128 MiB:
	// with the default caches it cut the peak resident memory under load
	// from about 420 MB to 160 MB at no measurable CPU cost (bench/). Raise
	// it with the caches; 0 means no limit. GOMEMLIMIT in the environment
	// takes precedence.
	MemoryLimit int64 `yaml:"memory_limit"`
	// DebugListen, when set, serves net/http/pprof on this host:port, a
	// listener of its own without authentication; keep it on loopback.
	DebugListen string `yaml:"debug_listen"`
}

// Connection is one custom external connection.
type Connection struct {
	// Name is what associate-external-connection names, e.g.
	// "acme:npm-mirror" (must not start with "public:").
	Name string `yaml:"name"`
	// Format is npm, pypi or maven.
	Format string `yaml:"format"`
	// URL is the registry's base URL (npm registry, PEP 503 simple index,
	// Maven repository root).
	URL string `yaml:"url"`
}

// Blob configures the blob store.
type Blob struct {
	// Backend is "fs" (blobs under DataDir) or "s3".
	Backend string `yaml:"backend"`
	S3      S3     `yaml:"s3"`
}

// S3 configures the S3 blob backend.
type S3 struct {
	Endpoint  string `yaml:"endpoint"` // host:port
	Region    string `yaml:"region"`
	Bucket    string `yaml:"bucket"`
	Prefix    string `yaml:"prefix"`
	AccessKey string `yaml:"access_key"`
	SecretKey string `yaml:"secret_key"`
	UseSSL    bool   `yaml:"use_ssl"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Default returns the zero-configuration defaults.
func Default() Config {
	return Config{
		Listen:             "127.0.0.1:7373",
		DataDir:            "./data",
		Region:             "us-east-1",
		EventsPrefix:       "registry",
		Blob:               Blob{Backend: "fs"},
		Log:                Log{Level: "info", Format: "text"},
		MaxAssetBytes:      5 << 30,
		NPMMaxPublishBytes: 256 << 20,
		ShutdownTimeout:    30 * time.Second,
		CodeDeployMinute:   time.Minute,
		RenderedCacheBytes: 8 << 20,
		MemoryLimit:        128 << 20,
	}
}

// LoadFile overlays the YAML file at path onto c. Unknown keys are errors.
func (c *Config) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	return nil
}

// Apply sets the value of the key named by a flag or environment variable
// (see Keys) on c.
func (c *Config) Apply(key, value string) error {
	k, ok := keys[key]
	if !ok {
		return fmt.Errorf("config: unknown key %q", key)
	}
	if err := k.set(c, value); err != nil {
		return fmt.Errorf("config: %s: %w", key, err)
	}
	return nil
}

// LoadEnv applies every REGISTRY_* variable of environ (os.Environ form)
// that names a key; unknown REGISTRY_* variables are errors, so a typo does
// not pass silently. REGISTRY_CONFIG names the file and is skipped here.
func (c *Config) LoadEnv(environ []string) error {
	var errs []error
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "REGISTRY_") || name == "REGISTRY_CONFIG" {
			continue
		}
		key := strings.ToLower(strings.TrimPrefix(name, "REGISTRY_"))
		key = strings.ReplaceAll(key, "_", "-")
		if _, ok := keys[key]; !ok {
			errs = append(errs, fmt.Errorf("config: unknown environment variable %s", name))
			continue
		}
		if err := c.Apply(key, value); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Validate reports every problem of c at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("config: "+format, args...)) }
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen %q: want host:port", c.Listen)
	}
	if c.DataDir == "" {
		bad("data_dir must be set")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("public_url %q: want an absolute http(s) URL", c.PublicURL)
		}
	}
	if c.Region == "" {
		bad("region must be set")
	}
	if c.AccountID != "" && !isAccountID(c.AccountID) {
		bad("account_id %q: want 12 digits", c.AccountID)
	}
	if c.NATSListen != "" {
		if _, _, err := net.SplitHostPort(c.NATSListen); err != nil {
			bad("nats_listen %q: want host:port", c.NATSListen)
		}
	}
	if c.EventsPrefix == "" || strings.ContainsAny(c.EventsPrefix, " .*>") {
		bad("events_prefix %q: want one NATS subject token", c.EventsPrefix)
	}
	if c.NATSURL != "" {
		if u, err := url.Parse(c.NATSURL); err != nil || u.Scheme == "" {
			bad("nats_url %q: want a URL such as nats://host:4222", c.NATSURL)
		}
	}
	switch c.Blob.Backend {
	case "fs":
	case "s3":
		if c.Blob.S3.Endpoint == "" {
			bad("blob.s3.endpoint must be set for the s3 backend")
		}
		if c.Blob.S3.Bucket == "" {
			bad("blob.s3.bucket must be set for the s3 backend")
		}
	default:
		bad("blob.backend %q: want fs or s3", c.Blob.Backend)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format %q: want text or json", c.Log.Format)
	}
	if c.MaxAssetBytes <= 0 {
		bad("max_asset_bytes must be positive")
	}
	if c.NPMMaxPublishBytes <= 0 {
		bad("npm_max_publish_bytes must be positive")
	}
	if c.CodeDeployMinute <= 0 || c.CodeDeployMinute > time.Hour {
		bad("codedeploy_minute %s: want a duration above 0 and at most 1h", c.CodeDeployMinute)
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown_timeout must be positive")
	}
	if c.RenderedCacheBytes < 1<<20 {
		bad("rendered_cache_bytes %d: want at least 1048576 (1 MiB)", c.RenderedCacheBytes)
	}
	if c.MemoryLimit < 0 {
		bad("memory_limit must not be negative (0: no limit)")
	}
	if c.DebugListen != "" {
		if _, _, err := net.SplitHostPort(c.DebugListen); err != nil {
			bad("debug_listen %q: want host:port", c.DebugListen)
		}
	}
	if c.NPMUpstream != "" {
		u, err := url.Parse(c.NPMUpstream)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("npm_upstream %q: want an absolute http(s) URL", redactURL(c.NPMUpstream))
		}
	}
	for name, u := range map[string]string{"pypi_upstream": c.PyPIUpstream, "maven_upstream": c.MavenUpstream} {
		if u != "" && !isHTTPURL(u) {
			bad("%s %q: want an absolute http(s) URL", name, redactURL(u))
		}
	}
	seen := map[string]bool{}
	for i, ec := range c.ExternalConnections {
		switch {
		case !validConnectionName(ec.Name):
			bad("external_connections[%d].name %q: want 2-100 of [A-Za-z0-9._:-], not starting with public:", i, ec.Name)
		case seen[ec.Name]:
			bad("external_connections[%d].name %q: duplicate", i, ec.Name)
		}
		seen[ec.Name] = true
		switch ec.Format {
		case "npm", "pypi", "maven":
		default:
			bad("external_connections[%d].format %q: want npm, pypi or maven", i, ec.Format)
		}
		if !isHTTPURL(ec.URL) {
			bad("external_connections[%d].url %q: want an absolute http(s) URL", i, redactURL(ec.URL))
		}
	}
	for _, r := range c.PreferCached {
		if d, rp, ok := strings.Cut(r, "/"); !ok || d == "" || rp == "" || strings.Contains(rp, "/") {
			bad("prefer_cached %q: want domain/repository", r)
		}
	}
	return errors.Join(errs...)
}

// redactURL hides a URL's password (connection URLs may carry
// credentials) in error messages; an unparseable URL is not repeated.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func validConnectionName(s string) bool {
	if len(s) < 2 || len(s) > 100 || strings.HasPrefix(s, "public:") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:-", r)) {
			return false
		}
	}
	return true
}

// BaseURL returns the public base URL without a trailing slash.
func (c *Config) BaseURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return "http://" + c.Listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Path returns p resolved inside the data directory.
func (c *Config) Path(p ...string) string {
	return filepath.Join(append([]string{c.DataDir}, p...)...)
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}
