package build

import (
	"bytes"
	"strconv"
	"syscall"
)

func itoa(n int) string { return strconv.Itoa(n) }

func containsBytes(b, sub []byte) bool { return bytes.Contains(b, sub) }

// killGroup sends SIGKILL to every process of a process group.
func killGroup(pgid int) { syscall.Kill(-pgid, syscall.SIGKILL) }
