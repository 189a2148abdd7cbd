package config

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// DefaultNPMUpstream returns the registry npm's own configuration names on
// this machine: the npm_config_registry (or NPM_CONFIG_REGISTRY) variable
// of environ when set, else what `npm config get registry` prints. The
// project never names a public registry host itself. An error says npm is
// not installed or has no registry configured.
func DefaultNPMUpstream(ctx context.Context, environ []string) (string, error) {
	for _, name := range []string{"npm_config_registry", "NPM_CONFIG_REGISTRY"} {
		for _, kv := range environ {
			if k, v, _ := strings.Cut(kv, "="); k == name && v != "" {
				return v, nil
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "config", "get", "registry")
	cmd.Env = environ
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("config: npm config get registry: %w", err)
	}
	reg := strings.TrimSpace(string(out))
	if reg == "" || reg == "undefined" {
		return "", errors.New("config: npm config get registry printed no registry")
	}
	return reg, nil
}
