package build

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ensureShell starts the build's shell session if it is not running.
func (r *run) ensureShell() error {
	if r.sh != nil {
		return nil
	}
	env := r.env.list()
	sh, err := startShell(shellOptions{Path: r.shellPath, Dir: r.src, Env: env, Out: r.log, Ctl: r.ctl, Cred: r.cred})
	if err != nil {
		return err
	}
	r.sh = sh
	r.told = false
	r.update(func(b *Build) { b.PGID = sh.pgid() })
	return nil
}

// shellRun runs a command in the session, restarting the session if an
// earlier command ended it.
func (r *run) shellRun(command string) (int, error) {
	if err := r.ensureShell(); err != nil {
		return -1, err
	}
	if !r.succeeding && !r.told {
		r.told = true
		if _, err := r.sh.run(r.ctx, "export CODEBUILD_BUILD_SUCCEEDING=0"); err != nil {
			return -1, err
		}
	}
	code, err := r.sh.run(r.ctx, command)
	if errors.Is(err, errShellExited) {
		r.sh.close()
		r.sh = nil
		r.log.Line("The shell exited (status %d); the next command starts a new shell session", code)
		if code == 0 {
			code = 1 // an `exit 0` still ends the session the build relies on
		}
		return code, nil
	}
	return code, err
}

// commands runs a phase's commands and then its finally block. A failing
// command skips the remaining commands; finally runs regardless; the
// phase fails if any command or finally command fails.
func (r *run) commands(p Phase) (Status, []PhaseContext) {
	sp := r.spec.Phases[p]
	if sp == nil || len(sp.Commands)+len(sp.Finally) == 0 {
		return StatusSucceeded, nil
	}
	for _, rv := range sp.RuntimeVersions {
		r.log.Line("runtime-versions %s: %s is ignored; builds use the server's installed tools", rv.Name, rv.Value)
	}
	var failure []PhaseContext
	runList := func(list []string) bool {
		for _, c := range list {
			r.log.Line("Running command %s", c)
			code, err := r.shellRun(c)
			if r.ctx.Err() != nil {
				return false
			}
			if err != nil {
				failure = []PhaseContext{{StatusCode: "COMMAND_EXECUTION_ERROR", Message: fmt.Sprintf("Error while executing command: %s. Reason: %v", c, err)}}
				return true
			}
			if code != 0 {
				r.log.Line("Command did not exit successfully %s exit status %d", c, code)
				if failure == nil {
					failure = []PhaseContext{{StatusCode: "COMMAND_EXECUTION_ERROR", Message: fmt.Sprintf("Error while executing command: %s. Reason: exit status %d", c, code)}}
				}
				return true
			}
		}
		return true
	}
	if !runList(sp.Commands) {
		return r.interrupted()
	}
	if !runList(sp.Finally) {
		return r.interrupted()
	}
	if failure != nil {
		r.succeeding = false
		return StatusFailed, failure
	}
	return StatusSucceeded, nil
}

// captureExports reads the exported variables from the shell as they
// stand now (the end of the last command phase that ran).
func (r *run) captureExports() {
	if r.spec == nil || len(r.spec.Env.ExportedVariables) == 0 {
		return
	}
	var vars []EnvVar
	if r.sh != nil && r.ctx.Err() == nil {
		dir := filepath.Join(r.ctl, "export")
		os.MkdirAll(dir, 0o700)
		if r.cred != nil {
			os.Chown(dir, int(r.cred.Uid), int(r.cred.Gid))
		}
		var script strings.Builder
		for _, name := range r.spec.Env.ExportedVariables {
			fmt.Fprintf(&script, "if [ -n \"${%s+x}\" ]; then printf '%%s' \"$%s\" > %s; fi\n", name, name, shellQuote(filepath.Join(dir, name)))
		}
		if _, err := r.sh.run(r.ctx, script.String()); err == nil {
			for _, name := range r.spec.Env.ExportedVariables {
				if v, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
					vars = append(vars, EnvVar{Name: name, Value: r.log.maskString(string(v))})
				}
			}
		}
	} else {
		for _, name := range r.spec.Env.ExportedVariables {
			if v, ok := r.env[name]; ok {
				vars = append(vars, EnvVar{Name: name, Value: r.log.maskString(v)})
			}
		}
	}
	r.update(func(b *Build) { b.ExportedVariables = vars })
}

// shellQuote quotes s for the shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
