// Package codepipeline is the CodePipeline control plane: the AWS JSON 1.1
// protocol (POST / with X-Amz-Target CodePipeline_20150709.<Operation>,
// SigV4 signing name "codepipeline") over the pipeline engine. Request and
// response shapes and exception names are those of the botocore model
// (codepipeline 2015-07-09); timestamps are epoch seconds.
//
// It imports echo, internal/server (routing, error flavours),
// internal/pipeline and internal/pipeline/engine; authorization and caller
// identity are functions cmd/registry provides.
package codepipeline
