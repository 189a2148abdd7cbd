package upstream

import "testing"

// TestMemoryBytesDefault checks the in-memory metadata cache's default
// bound and that an explicit value is kept.
func TestMemoryBytesDefault(t *testing.T) {
	if got := (Config{}).withDefaults().MemoryBytes; got != 32<<20 {
		t.Fatalf("default MemoryBytes = %d, want %d", got, 32<<20)
	}
	if got := (Config{MemoryBytes: 1 << 30}).withDefaults().MemoryBytes; got != 1<<30 {
		t.Fatalf("explicit MemoryBytes = %d, want %d", got, 1<<30)
	}
}
