//go:build !cgo || !linux

package server

func trimCHeap() {}
