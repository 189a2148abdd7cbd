package rendered

import (
	"os"

	"golang.org/x/sys/unix"
)

// punchHole frees n bytes of f from off (the page cache's and the disk's),
// leaving f's size alone.
func punchHole(f *os.File, off, n int64) error {
	return unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
}
