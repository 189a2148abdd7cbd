//go:build cgo && linux

package server

// #include <malloc.h>
import "C"

// trimCHeap returns the C heap's free memory (SQLite's, freed by its
// connections) to the operating system: glibc keeps freed chunks in its
// per-thread arenas otherwise.
func trimCHeap() { C.malloc_trim(0) }
