// Package maven serves a repository at /maven/{domain}/{repo}/ in the
// Maven 2 repository layout, so that unmodified mvn (and Gradle, curl)
// deploy to it and resolve from it. The layout is drawn in path.go.
//
// The protocol table:
//
//	method     path below /maven/{domain}/{repo}/           what                               permission
//	GET/HEAD   {g}/{a}/maven-metadata.xml                  versions, latest, release           ReadFromRepository
//	GET/HEAD   {g}/{a}/{v}-SNAPSHOT/maven-metadata.xml     the newest Published build          ReadFromRepository
//	GET/HEAD   {g}/{a}/{v}/{file}                          a file (Unfinished too, by exact    ReadFromRepository
//	                                                       path; -SNAPSHOT names resolve to
//	                                                       the newest Published build)
//	GET/HEAD   any of the above + .md5|.sha1|.sha256|.sha512  its checksum, computed          ReadFromRepository
//	PUT        {g}/{a}/{v}/{file}                          add a file; creates the version     PublishPackageVersion
//	                                                       Unfinished; POMs are parsed
//	PUT        {g}/{a}/maven-metadata.xml                  publish: the listed Unfinished      PublishPackageVersion +
//	                                                       versions become Published           PutPackageMetadata
//	PUT        {g}/{a}/{v}-SNAPSHOT/maven-metadata.xml     checked, not kept                   PublishPackageVersion +
//	                                                                                           PutPackageMetadata
//	PUT        {file}.md5|.sha1|.sha256|.sha512            compared with the computed digest   PublishPackageVersion
//	                                                       (400 on mismatch, 404 without the
//	                                                       file); never kept
//
// Versions follow CodeArtifact's Maven rules: a version is Unfinished
// (unlisted, but its files readable by exact path) until an artifact-level
// maven-metadata.xml listing it is uploaded or the control plane publishes
// it. Each timestamped snapshot build is its own version
// (1.0-20261121.101530-3, with its base version in the version's
// metadata); when a build is published older Published builds of the same
// snapshot become Unlisted. Non-unique (Maven 2) snapshot files are
// refused. Files may be added to a published version; the same file name
// with different bytes is a 409.
//
// maven-metadata.xml is rendered from the registry's state, never served
// as uploaded: versions in Maven's order (version.go), cached per package
// state and served with strong ETags. Files are served with
// http.ServeContent (sendfile for files, ranges, conditional requests).
//
// With Format.Chain set, reads resolve through the repository's upstreams
// and external connection (proxy.go, CodeArtifact's search order): a file
// the repository lacks is served from the first hop that has it and
// retained (metadata only) in the asked repository and, when it came
// through an external connection, in the repository holding it; files
// from upstream are verified against upstream's .sha1 when it publishes
// one. Artifact-level maven-metadata.xml is the union of the versions
// visible along the chain. A deploy of a release version an external
// connection has is a 409 when the package's origin controls allow both
// publishing and upstream.
//
// Errors are domain-kinded; the server renders them as plain text, and
// adds WWW-Authenticate: Basic to a 401 so mvn retries with the
// credentials of its settings.xml. The package imports internal/domain,
// internal/blob (the interface), internal/server and internal/formats; the
// metadata store is reached through the interfaces defined in maven.go.
package maven
