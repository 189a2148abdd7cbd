// Package engine runs pipelines: it stores their structures and
// executions in its own SQLite database (pipelines.db), schedules stages
// and actions with CodePipeline's semantics (runOrder groups, stage locks,
// the SUPERSEDED, QUEUED and PARALLEL execution modes, manual approvals,
// stop, retry), runs the built-in action providers, keeps artifacts as zip
// blobs in the blob store, and reports state changes as CodePipeline
// EventBridge events.
//
// State lives in the database and only there: a restarted engine resumes
// the executions that were in flight (Start). The registry, CodeBuild and
// the secret store are reached through the ports in ports.go, which
// cmd/registry wires; this package imports internal/blob and
// internal/pipeline, never the registry (internal/domain, internal/sqlite,
// internal/formats, internal/codeartifact).
package engine
