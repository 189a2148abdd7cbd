// Package server is the registry's single HTTP listener: request ids,
// logging, metrics, authentication (SigV4 for the AWS control planes, tokens
// for the package formats), routing by path, X-Amz-Target and Action, and
// the one place where an error becomes an HTTP status and a body in the
// client's own format.
//
// It imports echo, internal/domain and the authentication packages; API and
// format packages register their routes on it.
package server
