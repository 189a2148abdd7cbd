//go:build cgo && linux

package server

// #include <malloc.h>
// #include <stdlib.h>
//
// // Two malloc arenas at most, unless MALLOC_ARENA_MAX says otherwise:
// // the C heap is SQLite's (page caches, statements), whose calls are few
// // and short, and glibc's default (8 per core) leaves each thread that
// // ever called malloc an arena of its own, whose free chunks stay
// // resident. A constructor, so it runs before any thread allocates.
// __attribute__((constructor)) static void registry_arena_max(void) {
// 	if (getenv("MALLOC_ARENA_MAX") == NULL) mallopt(M_ARENA_MAX, 2);
// }
import "C"

// trimCHeap returns the C heap's free memory (SQLite's, freed by its
// connections) to the operating system: glibc keeps freed chunks in its
// per-thread arenas otherwise.
func trimCHeap() { C.malloc_trim(0) }
