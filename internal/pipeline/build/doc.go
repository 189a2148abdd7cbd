// Package build is the embedded CodeBuild: projects, buildspec v0.2
// parsing and validation, and a runner that executes builds as local
// processes, one shell session per build, in a fresh workspace, with
// CodeBuild's phases, statuses, environment variables and transition
// rules. State is durable in its own SQLite database (builds.db); a build
// that was in progress when the server stopped is marked FAILED, with the
// reason in its phase contexts, when the service opens again.
//
// The pipeline engine drives it through Service:
//
//	b, err := svc.StartBuild(ctx, build.StartRequest{
//		Project:         "app-build",
//		Initiator:       "codepipeline/app",
//		InputArtifacts:  []build.InputArtifact{{Name: "SourceArtifact", Digest: zipDigest}},
//		OutputArtifacts: []string{"BuildArtifact"},
//	})
//	b, err = svc.Wait(ctx, b.ID)   // b.Status, b.Artifacts (zip blobs), b.ExportedVariables
//	svc.StopBuild(ctx, b.ID)       // kills the build's process group
//
// Layout under the data directory:
//
//	builds.db                   projects, build counters, builds (one JSON document each)
//	builds/
//	  work/<uuid>/              the workspace of a running build, removed when it completes
//	    src/                    CODEBUILD_SRC_DIR (primary source), the shell's first cwd
//	    src2/<identifier>/      CODEBUILD_SRC_DIR_<identifier> (secondary sources)
//	    ctl/                    the shell driver, command files, exported variables
//	  logs/<uuid>.log           the build log (masked, bounded), kept
//	  cache/<project>/          cache.paths kept between builds of a project
//	    rel/...                 paths relative to CODEBUILD_SRC_DIR
//	    abs/...                 absolute paths
//
// Artifacts (input and output) are zip files in the blob store, named by
// their sha256.
//
// It imports internal/blob (artifact storage) and the SQLite driver and
// yaml.v3, and never the registry (internal/domain, internal/sqlite,
// internal/formats, internal/codeartifact).
package build
