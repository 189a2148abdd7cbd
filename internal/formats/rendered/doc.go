// Package rendered keeps documents that a format renders from a package's
// state (npm packuments, PyPI project pages, Maven metadata) and serves
// them over HTTP.
//
// A Cache holds rendered values under a key the format defines, one that
// changes with every change of the package, so entries never go stale and
// are only ever evicted, least recently used first. A missing key is
// rendered once however many requests ask for it at the same time. All
// Caches share one byte budget (Configure; DefaultBytes), so memory does
// not grow with the size of the documents: a document above a sixteenth
// of the budget is kept gzipped in an unlinked file and sent with
// sendfile. Smaller ones are kept on the shelf (shelf.go), one unlinked
// file shared page by page, so their bytes are in the page cache rather
// than among the heap's small objects.
//
// A Doc is a body rendered once, gzip-compressed once, with strong entity
// tags derived from its bytes. Serve negotiates the coding and answers
// conditional requests:
//
//	Accept-Encoding allows gzip?   body served    ETag
//	no                             Body()         "<tag>[-<variant>]"
//	yes                            Gzipped()      "<tag>[-<variant>]-gz"
//
//	If-None-Match names the served tag (or "*", or, with AnyCoding,
//	the tag of the other coding)  ->  304 Not Modified, no body
//
// ServeAsset serves a stored file (a tarball, wheel or jar) the same way
// for every format: sendfile and Range through http.ServeContent when the
// blob store hands out an *os.File, the sha256 as ETag.
//
// The key types, the rendering and the choice of media type stay in each
// format's package. This package imports the standard library, echo,
// internal/blob and internal/domain; it must not import the
// formats or a storage backend.
package rendered
