package upstream

import "testing"

// TestMemoryBytesDefault checks the in-memory metadata cache's default
// bounds and that explicit values are kept.
func TestMemoryBytesDefault(t *testing.T) {
	d := (Config{}).withDefaults()
	if d.MemoryBytes != 2<<20 || d.MemoryEntryBytes != 64<<10 {
		t.Fatalf("default MemoryBytes = %d, MemoryEntryBytes = %d, want %d, %d", d.MemoryBytes, d.MemoryEntryBytes, 2<<20, 64<<10)
	}
	x := (Config{MemoryBytes: 1 << 30, MemoryEntryBytes: 5}).withDefaults()
	if x.MemoryBytes != 1<<30 || x.MemoryEntryBytes != 5 {
		t.Fatalf("explicit MemoryBytes = %d, MemoryEntryBytes = %d", x.MemoryBytes, x.MemoryEntryBytes)
	}
}
