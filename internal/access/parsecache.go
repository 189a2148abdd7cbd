package access

import (
	"crypto/sha256"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/artifactd/registry/internal/policy"
)

// parsedPolicies is how many parsed policy documents the cache keeps. A
// document is a few kilobytes parsed; a few hundred distinct policies
// covers every user and repository of a typical installation.
const parsedPolicies = 512

// parseKey identifies a document by its kind and the sha256 of its text.
// A policy that changes has a different text and so a different key: the
// cache needs no invalidation, old entries simply age out.
type parseKey struct {
	kind policy.Kind
	sum  [sha256.Size]byte
}

// parseResult is a cached outcome of policy.Parse; invalid documents are
// remembered too (they grant nothing) so a bad stored policy is not
// re-parsed on every request.
type parseResult struct {
	doc *policy.Document
	err error
}

// parseCache memoises policy.Parse. The parsed documents are shared
// between requests: policy.Authorize only reads them.
type parseCache struct {
	lru *lru.Cache[parseKey, parseResult]
	// parse is policy.Parse; tests replace it to count calls.
	parse func(string, policy.Kind) (*policy.Document, error)
}

func newParseCache(size int) *parseCache {
	c, err := lru.New[parseKey, parseResult](size)
	if err != nil {
		panic(err) // only for size <= 0
	}
	return &parseCache{lru: c, parse: policy.Parse}
}

// get returns the parsed document for doc, parsing it on a miss.
func (c *parseCache) get(doc string, kind policy.Kind) (*policy.Document, error) {
	k := parseKey{kind: kind, sum: sha256.Sum256([]byte(doc))}
	if r, ok := c.lru.Get(k); ok {
		return r.doc, r.err
	}
	d, err := c.parse(doc, kind)
	c.lru.Add(k, parseResult{doc: d, err: err})
	return d, err
}
