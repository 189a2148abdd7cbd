// Package pipeline is the model of the embedded CodePipeline: the pipeline
// declaration exactly as the CodePipeline JSON 1.1 API spells it, its
// structure validation, `#{namespace.Variable}` resolution, the statuses
// AWS names, the exceptions the API returns, and the package events (in
// CodeArtifact's EventBridge shape) that trigger pipelines with their
// matching rules.
//
// Everything here is a pure function over values; the runtime lives in
// pipeline/engine and the wire protocol in pipeline/codepipeline. It
// imports only the standard library and Masterminds/semver, and never the
// registry (internal/domain, internal/sqlite, internal/formats,
// internal/codeartifact): an adapter in cmd/registry turns registry events
// into PackageEvent values.
package pipeline
