package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// logReserve is room kept above the size limit for the runner's own
// status lines, so a flooded log still says how the build ended.
const logReserve = 64 << 10

// logWriter is a build's log file: command output goes through the
// masker and is cut off at the size limit (the rest is counted and
// dropped, never buffered); the runner's status lines are masked too.
// Readers follow it through changed.
type logWriter struct {
	mu        sync.Mutex
	f         *os.File
	mask      masker
	size      int64
	limit     int64
	truncated bool
	dropped   int64
	atLineEnd bool
	closed    bool
	change    chan struct{} // closed and replaced on every write
	now       func() time.Time
}

func createLog(path string, limit int64, now func() time.Time) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &logWriter{f: f, size: fi.Size(), limit: limit, atLineEnd: true, change: make(chan struct{}), now: now}, nil
}

// addSecrets registers values to mask from now on.
func (l *logWriter) addSecrets(values ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mask.add(values...)
}

// Write takes command output.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.output(l.mask.write(p))
	return len(p), nil
}

// output appends masked command output within the limit.
func (l *logWriter) output(b []byte) {
	if len(b) == 0 || l.closed {
		return
	}
	if l.truncated {
		l.dropped += int64(len(b))
		return
	}
	if room := l.limit - l.size; int64(len(b)) > room {
		l.dropped += int64(len(b)) - max(room, 0)
		b = b[:max(room, 0)]
		l.truncated = true
	}
	l.append(b)
	if l.truncated {
		l.lineLocked(fmt.Sprintf("The build log reached its limit of %d bytes; further output is discarded", l.limit))
	}
}

func (l *logWriter) append(b []byte) {
	if len(b) == 0 {
		return
	}
	n, _ := l.f.Write(b)
	l.size += int64(n)
	l.atLineEnd = b[len(b)-1] == '\n'
	close(l.change)
	l.change = make(chan struct{})
}

// Line writes a status line "[Container] <time> <msg>" after flushing
// held-back output.
func (l *logWriter) Line(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lineLocked(fmt.Sprintf(format, args...))
}

func (l *logWriter) lineLocked(msg string) {
	if l.closed {
		return
	}
	l.output(l.mask.flush())
	line := "[Container] " + l.now().UTC().Format("2006/01/02 15:04:05.000000") + " " + l.mask.mask(msg) + "\n"
	if !l.atLineEnd {
		line = "\n" + line
	}
	if l.size+int64(len(line)) > l.limit+logReserve {
		return
	}
	l.append([]byte(line))
}

// changed returns a channel closed at the next write (or at close).
func (l *logWriter) changed() (<-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.change, l.closed
}

// Close flushes, notes dropped output, syncs and closes the file.
func (l *logWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	if rest := l.mask.flush(); len(rest) > 0 {
		l.output(rest)
	}
	if l.dropped > 0 {
		l.lineLocked(fmt.Sprintf("%d bytes of output were discarded", l.dropped))
	}
	l.closed = true
	close(l.change)
	err := l.f.Sync()
	if err2 := l.f.Close(); err == nil {
		err = err2
	}
	return err
}

// follow copies the log at path to w from offset: everything written so
// far and then, while lw (the live writer, nil when the build is not
// running here) is open, whatever is appended, until it closes or ctx
// ends. flush is called after every copy so chunks reach the client.
func follow(ctx context.Context, path string, lw *logWriter, w io.Writer, flush func()) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		var ch <-chan struct{}
		closed := true
		if lw != nil {
			ch, closed = lw.changed()
		}
		n, err := io.Copy(w, f)
		if err != nil {
			return err
		}
		if n > 0 && flush != nil {
			flush()
		}
		if closed {
			_, err := io.Copy(w, f) // what the close wrote
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil
		}
	}
}

// maskString masks the secrets registered so far in s.
func (l *logWriter) maskString(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mask.mask(s)
}
