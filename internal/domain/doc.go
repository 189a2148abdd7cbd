// Package domain is the registry's model: domains, repositories, packages,
// package versions and assets, the rules that govern them (names, statuses,
// limits) and the error kinds every layer speaks.
//
// It imports only the standard library. Storage, HTTP and wire formats live
// in other packages and depend on this one, never the reverse.
package domain
