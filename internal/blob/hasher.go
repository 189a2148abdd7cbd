package blob

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"io"

	"github.com/artifactd/registry/internal/domain"
)

// Hasher computes every digest the registry serves (md5, sha1, sha256,
// sha512) and the size, in one pass over the bytes written to it.
type Hasher struct {
	md5, sha1, sha256, sha512 hash.Hash
	w                         io.Writer
	n                         int64
}

// NewHasher returns an empty Hasher.
func NewHasher() *Hasher {
	h := &Hasher{md5: md5.New(), sha1: sha1.New(), sha256: sha256.New(), sha512: sha512.New()}
	h.w = io.MultiWriter(h.md5, h.sha1, h.sha256, h.sha512)
	return h
}

// Write hashes p; it never fails.
func (h *Hasher) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.n += int64(n)
	return n, err
}

// SHA256 returns the lowercase hex sha256 of what was written so far.
func (h *Hasher) SHA256() string { return hex.EncodeToString(h.sha256.Sum(nil)) }

// Result returns the size and digests of what was written.
func (h *Hasher) Result() Put {
	return Put{Size: h.n, Hashes: domain.Hashes{
		MD5:    hex.EncodeToString(h.md5.Sum(nil)),
		SHA1:   hex.EncodeToString(h.sha1.Sum(nil)),
		SHA256: h.SHA256(),
		SHA512: hex.EncodeToString(h.sha512.Sum(nil)),
	}}
}

// ContextReader returns a reader that fails with ctx's error once ctx is
// done, so a copy from a slow client stops when the request is cancelled.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
