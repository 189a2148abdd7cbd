// Package pypi serves the Python package index protocols for a
// repository at /pypi/{domain}/{repo}/ so that unmodified pip installs
// from it and twine uploads to it: the simple repository API (PEP 503
// HTML and PEP 691 JSON, negotiated by Accept, with PEP 592 yanking,
// PEP 629 versioning, PEP 658/714 core metadata and PEP 700 fields) and
// the legacy upload API.
//
// One catch-all route receives every request below the repository;
// parsePath reads the raw path, decoding each segment on its own. The
// protocol table:
//
//	method     path below /pypi/{domain}/{repo}          what                               permission
//	POST       / (or no trailing slash)                 twine upload (multipart form)      PublishPackageVersion
//	                                                                                        on the project
//	GET/HEAD   /simple/                                 every project (HTML or JSON)       ReadFromRepository
//	GET/HEAD   /simple/{project}/                       the project's files (HTML or       ReadFromRepository
//	                                                    JSON), cached per package state
//	GET/HEAD   /simple/{project}/{version}/{file}       a distribution file                ReadFromRepository
//	GET/HEAD   /simple/{project}/{version}/{file}.metadata
//	                                                    a wheel's core metadata (PEP 658)  ReadFromRepository
//
// A page asked for without its trailing slash, or with a project name
// that is not normalised (PEP 503), is answered 301 with the canonical
// path. An Accept header that allows none of the served media types gets
// 406.
//
// Mapping to the control plane: a project is a package of format "pypi",
// without namespace, named by its normalised name; its display name is the
// metadata's Name. A release is a package version named by the normalised
// PEP 440 version. Its first uploaded file creates it (PublishVersion, with
// summary, home page, licenses, readme and Requires-Dist dependencies from
// that file's metadata); later files are attached to it (AttachAssets). Each
// file is an asset under its file name; a wheel's METADATA file is kept as
// a second asset "{file}.metadata". The same file name with other bytes is
// refused (409, "File already exists"); the same bytes again succeed, so
// twine --skip-existing works.
//
// Yanking (PEP 592): a version set to Unlisted with
// UpdatePackageVersionsStatus is yanked. It stays on its project page,
// marked (data-yanked, "yanked": true), so pip skips it when resolving a
// range but still installs it when pinned with ==; setting it Published
// again unyanks it. Archived and Disposed versions are not listed and
// their files are not served. A yank reason is shown when the version's
// metadata carries one (yanked_reason); the control plane has no field to
// set it.
//
// Upstreams and external connections (proxy.go, upstreampage.go): with
// Chain set, a project page shows the union of the files visible along
// the repository's search order (internal repositories from the store,
// an external connection from its upstream PEP 691 or PEP 503 page; the
// first hop with a version gives all its files), and a file the
// repository does not hold is served from the first hop that has it and
// retained (internal hop) or ingested after its sha256 was checked
// (external connection) in the repositories domain.RetainIn names.
// Publishing a version the external connection has is 409 when the
// package's origin controls allow both publishing and upstream.
//
// Errors are domain-kinded errors; the server renders them as plain text,
// with 401 and WWW-Authenticate: Basic for anonymous callers that must
// authenticate; a failed upstream fetch is 502 (504 on a timeout). The
// package imports internal/domain, internal/blob (the interface),
// internal/server, internal/formats, internal/formats/rendered and
// internal/upstream (the client's types); the metadata store is
// reached through the Store interface defined here.
package pypi
