package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// key is one settable configuration key. Its flag is --<name>, its
// environment variable REGISTRY_<NAME> with '-' as '_'.
type key struct {
	usage string
	set   func(c *Config, v string) error
}

func str(f func(c *Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *f(c) = v; return nil }
}

// keys is the table of flag/environment keys; every yaml key has a twin here.
var keys = map[string]key{
	"listen":           {"HTTP listen address", str(func(c *Config) *string { return &c.Listen })},
	"data-dir":         {"data directory", str(func(c *Config) *string { return &c.DataDir })},
	"public-url":       {"public base URL of this server", str(func(c *Config) *string { return &c.PublicURL })},
	"region":           {"AWS region reported and expected", str(func(c *Config) *string { return &c.Region })},
	"account-id":       {"12-digit account id", str(func(c *Config) *string { return &c.AccountID })},
	"nats-credentials": {"NATS credentials file for nats-url", str(func(c *Config) *string { return &c.NATSCredentials })},
	"nats-listen":      {"host:port for the embedded NATS server (default: no port)", str(func(c *Config) *string { return &c.NATSListen })},
	"events-prefix":    {"first token of event subjects", str(func(c *Config) *string { return &c.EventsPrefix })},
	"nats-url":         {"external NATS URL (default: embedded)", str(func(c *Config) *string { return &c.NATSURL })},
	"blob-backend":     {"blob store: fs or s3", str(func(c *Config) *string { return &c.Blob.Backend })},
	"s3-endpoint":      {"S3 endpoint host:port", str(func(c *Config) *string { return &c.Blob.S3.Endpoint })},
	"s3-region":        {"S3 region", str(func(c *Config) *string { return &c.Blob.S3.Region })},
	"s3-bucket":        {"S3 bucket", str(func(c *Config) *string { return &c.Blob.S3.Bucket })},
	"s3-prefix":        {"S3 key prefix", str(func(c *Config) *string { return &c.Blob.S3.Prefix })},
	"s3-access-key":    {"S3 access key", str(func(c *Config) *string { return &c.Blob.S3.AccessKey })},
	"s3-secret-key":    {"S3 secret key", str(func(c *Config) *string { return &c.Blob.S3.SecretKey })},
	"s3-use-ssl":       {"use TLS to reach S3", func(c *Config, v string) error { b, err := strconv.ParseBool(v); c.Blob.S3.UseSSL = b; return err }},
	"log-level":        {"log level: debug, info, warn, error", str(func(c *Config) *string { return &c.Log.Level })},
	"log-format":       {"log format: text or json", str(func(c *Config) *string { return &c.Log.Format })},
	"max-asset-bytes": {"largest accepted asset in bytes", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		c.MaxAssetBytes = n
		return err
	}},
	"npm-max-publish-bytes": {"largest accepted npm publish request body in bytes", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		c.NPMMaxPublishBytes = n
		return err
	}},
	"npm-upstream":   {"registry URL of the public:npmjs external connection (default: npm config get registry)", str(func(c *Config) *string { return &c.NPMUpstream })},
	"pypi-upstream":  {"simple-index URL of the public:pypi external connection (default: pip's index-url)", str(func(c *Config) *string { return &c.PyPIUpstream })},
	"maven-upstream": {"repository URL of the public:maven-central external connection (default: Maven Central)", str(func(c *Config) *string { return &c.MavenUpstream })},
	"external-connection": {"custom external connection name=format=url (repeatable, comma-separated)", func(c *Config, v string) error {
		for _, item := range strings.Split(v, ",") {
			name, rest, ok1 := strings.Cut(strings.TrimSpace(item), "=")
			format, u, ok2 := strings.Cut(rest, "=")
			if !ok1 || !ok2 {
				return fmt.Errorf("%q: want name=format=url", item)
			}
			c.ExternalConnections = append(c.ExternalConnections, Connection{Name: name, Format: format, URL: u})
		}
		return nil
	}},
	"prefer-cached": {"repositories (domain/repository, comma-separated) serving cached upstream metadata without revalidation", func(c *Config, v string) error {
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				c.PreferCached = append(c.PreferCached, r)
			}
		}
		return nil
	}},
	"codedeploy-minute": {"length of a CodeDeploy traffic-routing minute (tests and demos shorten it)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		c.CodeDeployMinute = d
		return err
	}},
	"rendered-cache-bytes": {"bytes of rendered documents (packuments, index pages, metadata) kept gzipped, all formats together", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		c.RenderedCacheBytes = n
		return err
	}},
	"memory-limit": {"Go runtime soft memory limit in bytes (0: none; GOMEMLIMIT wins)", func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		c.MemoryLimit = n
		return err
	}},
	"debug-listen":     {"host:port serving net/http/pprof, unauthenticated (default: off)", str(func(c *Config) *string { return &c.DebugListen })},
	"shutdown-timeout": {"graceful shutdown bound", func(c *Config, v string) error { d, err := time.ParseDuration(v); c.ShutdownTimeout = d; return err }},
}

// Keys returns the names of every flag/environment key, sorted.
func Keys() []string {
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Usage returns the one-line description of key.
func Usage(k string) string { return keys[k].usage }
