package build

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// The one shell session of a build. CodeBuild 0.2 runs every command of
// every phase in the same shell, so `cd` and `export` carry over. The
// shell runs a small driver that reads the path of a command file from
// fd 3, sources it (stdin from /dev/null, so a command cannot swallow the
// next one; fds 3 and 9 closed), and prints a marker with the exit status
// on fd 9, a copy of the original stdout:
//
//	exec 9>&1
//	while IFS= read -r f <&3; do
//	  . "$f" </dev/null 3<&- 9>&-
//	  printf '\036CB<nonce> %d\n' "$?" >&9
//	done
//
// Output and markers travel through the same pipe, so a command's output
// is in the log before the runner's line saying how it ended. The shell
// leads its own process group (Setpgid); stopping a build kills the group
// and with it every process the build started.

// errShellExited reports that the shell ended during a command (an `exit`
// in a command, or a kill).
var errShellExited = errors.New("the build's shell exited")

type shellOptions struct {
	Path string // bash or /bin/sh
	Dir  string // initial working directory
	Env  []string
	Out  io.Writer // receives stdout and stderr
	Ctl  string    // directory for the driver and command files
	Cred *syscall.Credential
}

type shell struct {
	cmd     *exec.Cmd
	cmds    *os.File // write end of the command-path pipe (fd 3 of the shell)
	out     *os.File // read end of the output pipe
	codes   chan int
	outDone chan struct{}
	exited  chan struct{}
	ctl     string
	cred    *syscall.Credential
	n       int
}

func startShell(o shellOptions) (*shell, error) {
	var nonce [8]byte
	rand.Read(nonce[:])
	marker := "\x1eCB" + hex.EncodeToString(nonce[:]) + " "
	driver := "exec 9>&1\nwhile IFS= read -r __cb_cmd <&3; do\n  . \"$__cb_cmd\" </dev/null 3<&- 9>&-\n  printf '\\036CB" +
		hex.EncodeToString(nonce[:]) + " %d\\n' \"$?\" >&9\ndone\n"
	if err := os.MkdirAll(o.Ctl, 0o700); err != nil {
		return nil, err
	}
	driverPath := filepath.Join(o.Ctl, "driver.sh")
	if err := os.WriteFile(driverPath, []byte(driver), 0o600); err != nil {
		return nil, err
	}
	if o.Cred != nil {
		if err := os.Chown(driverPath, int(o.Cred.Uid), int(o.Cred.Gid)); err != nil {
			return nil, err
		}
	}
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		return nil, err
	}
	args := []string{driverPath}
	if filepath.Base(o.Path) == "bash" {
		args = []string{"--noprofile", "--norc", driverPath}
	}
	cmd := exec.Command(o.Path, args...)
	cmd.Dir, cmd.Env = o.Dir, o.Env
	cmd.Stdin = nil // /dev/null
	cmd.Stdout, cmd.Stderr = outW, outW
	cmd.ExtraFiles = []*os.File{cmdR} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: o.Cred}
	if err := cmd.Start(); err != nil {
		cmdR.Close()
		cmdW.Close()
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("starting %s: %w", o.Path, err)
	}
	cmdR.Close()
	outW.Close()
	s := &shell{cmd: cmd, cmds: cmdW, out: outR, codes: make(chan int, 16), outDone: make(chan struct{}), exited: make(chan struct{}), ctl: o.Ctl, cred: o.Cred}
	go s.copyOutput(o.Out, []byte(marker))
	go func() {
		cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// pgid is the shell's process group id.
func (s *shell) pgid() int { return s.cmd.Process.Pid }

// copyOutput copies the shell's output to w, taking the markers out and
// sending their exit codes to s.codes.
func (s *shell) copyOutput(w io.Writer, marker []byte) {
	defer close(s.outDone)
	defer close(s.codes)
	buf := make([]byte, 32<<10)
	var pending []byte
	for {
		n, err := s.out.Read(buf)
		pending = append(pending, buf[:n]...)
		for {
			i := bytes.Index(pending, marker)
			if i < 0 {
				keep := partialSuffix(pending, marker)
				w.Write(pending[:len(pending)-keep])
				pending = append(pending[:0], pending[len(pending)-keep:]...)
				break
			}
			j := bytes.IndexByte(pending[i+len(marker):], '\n')
			if j < 0 {
				w.Write(pending[:i])
				pending = append(pending[:0], pending[i:]...)
				break
			}
			w.Write(pending[:i])
			code, _ := strconv.Atoi(string(pending[i+len(marker) : i+len(marker)+j]))
			s.codes <- code
			pending = append(pending[:0], pending[i+len(marker)+j+1:]...)
		}
		if err != nil {
			w.Write(pending)
			return
		}
	}
}

// partialSuffix returns the length of the longest suffix of b that is a
// proper prefix of marker (held back until more output arrives).
func partialSuffix(b, marker []byte) int {
	for k := min(len(b), len(marker)-1); k > 0; k-- {
		if bytes.HasSuffix(b, marker[:k]) {
			return k
		}
	}
	return 0
}

// run runs one command in the session and returns its exit status. If
// ctx ends first the process group is killed and the error is ctx's
// cause. If the shell exits during the command, the status is the
// shell's and the error errShellExited; the session is then over.
func (s *shell) run(ctx context.Context, command string) (int, error) {
	s.n++
	path := filepath.Join(s.ctl, fmt.Sprintf("cmd-%04d.sh", s.n))
	if err := os.WriteFile(path, []byte(command+"\n"), 0o600); err != nil {
		return -1, err
	}
	if s.cred != nil {
		if err := os.Chown(path, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return -1, err
		}
	}
	defer os.Remove(path)
	if _, err := io.WriteString(s.cmds, path+"\n"); err != nil {
		return s.exitStatus(), errShellExited
	}
	select {
	case code, ok := <-s.codes:
		if ok {
			return code, nil
		}
		<-s.exited
		return s.exitStatus(), errShellExited
	case <-s.exited:
		s.drain(2 * time.Second)
		return s.exitStatus(), errShellExited
	case <-ctx.Done():
		s.kill()
		s.drain(2 * time.Second)
		return -1, context.Cause(ctx)
	}
}

// drain waits (bounded) for the output pipe to be copied to the end.
func (s *shell) drain(d time.Duration) {
	select {
	case <-s.outDone:
	case <-time.After(d):
	}
}

func (s *shell) exitStatus() int {
	<-s.exited
	ps := s.cmd.ProcessState
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// kill sends SIGKILL to the whole process group.
func (s *shell) kill() {
	syscall.Kill(-s.pgid(), syscall.SIGKILL)
}

// close ends the session: the driver sees end of input and exits; then
// whatever the build left running in its process group is killed.
func (s *shell) close() {
	s.cmds.Close()
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
	}
	s.kill()
	<-s.exited
	s.drain(2 * time.Second)
	s.out.Close()
	<-s.outDone
}
