package fs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
)

// BenchmarkPut measures Put of new blobs (write, fsync, rename, directory
// fsync) and of blobs already stored (hash only), from an in-memory reader.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{1 << 20, 32 << 20} {
		data := make([]byte, size)
		rand.NewChaCha8([32]byte{1}).Read(data)
		b.Run(fmt.Sprintf("new/%dMiB", size>>20), func(b *testing.B) {
			s, err := New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			var i uint64
			for b.Loop() {
				i++
				binary.LittleEndian.PutUint64(data, i) // new content every time
				p, err := s.Put(b.Context(), bytes.NewReader(data), "")
				if err != nil {
					b.Fatal(err)
				}
				// Keep the disk footprint flat; unlink is cheap next to the put.
				if err := os.Remove(s.blobPath(p.Hashes.SHA256)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("existing/%dMiB", size>>20), func(b *testing.B) {
			s, err := New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			p, err := s.Put(b.Context(), bytes.NewReader(data), "")
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := s.Put(b.Context(), bytes.NewReader(data), p.Hashes.SHA256); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
