// Package codebuild serves the CodeBuild control plane over its wire
// protocol, AWS JSON 1.1 (botocore model codebuild 2016-10-06): POST /
// with X-Amz-Target "CodeBuild_20161006.<Op>", SigV4 signing name
// "codebuild". It also serves what logs.deepLink and artifact locations
// point at, with token authentication like the package formats:
//
//	CreateProject, UpdateProject, DeleteProject, BatchGetProjects, ListProjects
//	StartBuild, StopBuild, RetryBuild, BatchGetBuilds, ListBuilds, ListBuildsForProject
//	GET /builds/{id}/log                  the build log, followed while the build runs
//	GET /builds/{id}/artifacts/{name}     an artifact zip ("primary" for the main one)
//
// Authorization asks for "codebuild:<Op>" on the project's ARN ("*" for
// the List operations); the downloads ask for codebuild:BatchGetBuilds.
// Errors are build's kinds turned into CodeBuild's exceptions
// (InvalidInputException, ResourceNotFoundException,
// ResourceAlreadyExistsException, AccountLimitExceededException) and
// rendered by internal/server.
//
// It imports internal/pipeline/build, internal/server and echo; never the
// registry.
package codebuild
