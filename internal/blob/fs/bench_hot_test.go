package fs

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"testing"
)

// BenchmarkGet measures reading a stored blob: Open (digest check, open,
// fstat) alone, Open plus reading it into memory, and Open plus copying
// it to a TCP connection, which is how the formats serve blobs (io.Copy
// from the *os.File lets the kernel use sendfile).
func BenchmarkGet(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20, 8 << 20} {
		data := make([]byte, size)
		rand.NewChaCha8([32]byte{2}).Read(data)
		s, err := New(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		p, err := s.Put(b.Context(), bytes.NewReader(data), "")
		if err != nil {
			b.Fatal(err)
		}
		digest := p.Hashes.SHA256
		name := fmt.Sprintf("%dKiB", size>>10)
		b.Run("open/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f, _, err := s.Open(b.Context(), digest)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
		b.Run("read/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
			for b.Loop() {
				f, _, err := s.Open(b.Context(), digest)
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				if _, err := buf.ReadFrom(f); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
		b.Run("to-socket/"+name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			drained := make(chan int64, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					drained <- -1
					return
				}
				n, _ := io.Copy(io.Discard, c)
				c.Close()
				drained <- n
			}()
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(size))
			var sent int64
			for b.Loop() {
				f, _, err := s.Open(b.Context(), digest)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(conn, f)
				if err != nil || n != int64(size) {
					b.Fatalf("copied %d of %d: %v", n, size, err)
				}
				sent += n
				f.Close()
			}
			conn.Close()
			if got := <-drained; got != sent {
				b.Fatalf("receiver got %d bytes, sent %d", got, sent)
			}
		})
	}
}
