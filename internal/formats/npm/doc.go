// Package npm serves the npm registry protocol for a repository at
// /npm/{domain}/{repo}/ so that unmodified npm clients install from it and
// publish to it (npm v11 is what the end-to-end tests drive).
//
// One catch-all route receives every request; parsePath reads the raw
// (still percent-encoded) path, so "@scope/name", "@scope%2fname" and
// "%40scope%2Fname" name the same package and an encoded slash cannot
// smuggle a segment. The protocol table:
//
//	method      path below /npm/{domain}/{repo}/     what                          permission
//	GET/HEAD    -/ping                              {}                            ReadFromRepository
//	GET         -/whoami                            {"username": principal}      an authenticated caller
//	GET         -/v1/search?text=&size=&from=       search the repository, its    ReadFromRepository
//	                                                upstreams, then upstream's
//	GET         -/package/{name}/dist-tags          tags -> versions              ReadFromRepository
//	PUT         -/package/{name}/dist-tags/{tag}    body "version": set a tag     PublishPackageVersion
//	DELETE      -/package/{name}/dist-tags/{tag}    remove a tag (not latest)     PublishPackageVersion
//	GET/HEAD    {name}                              packument, full or            ReadFromRepository
//	                                                abbreviated (Accept)
//	PUT         {name}                              publish (with _attachments)   PublishPackageVersion
//	                                                or deprecate (without)
//	PUT         {name}/-rev/{rev}                   unpublish versions missing    DeletePackageVersions
//	                                                from the document
//	DELETE      {name}/-rev/{rev}                   unpublish the whole package   DeletePackage
//	GET/HEAD    {name}/-/{unscoped}-{version}.tgz   the tarball                   ReadFromRepository
//	DELETE      {name}/-/{file}/-rev/{rev}          npm's step after an           DeletePackageVersions
//	                                                unpublish PUT: 200
//
// Names map to the control plane as format "npm", namespace = the scope
// without '@', package = the rest; a version's tarball is its asset
// "package.tgz". Only Published versions are listed; Unlisted ones stay
// downloadable. Packuments are rendered once per package state into
// bytes (and gzip), cached, and served with strong ETags.
//
// With Format.Chain set, packuments are the merge of the repository's
// search order (upstreams depth-first, then external connections through
// internal/upstream clients) and tarballs missing from the repository are
// found along it and retained or ingested; proxy.go draws the flow.
//
// Errors are returned as domain-kinded errors; the server renders them in
// npm's {"error": "..."} shape. The package imports internal/domain,
// internal/blob (the interface), internal/server, internal/formats and
// internal/upstream (its client types); the metadata store is reached
// through the Store and Chain interfaces defined here.
package npm
