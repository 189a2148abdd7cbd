package codeartifact

import (
	"fmt"
	"testing"
)

// BenchmarkPublishGeneric measures PublishPackageVersion end to end over
// HTTP (SigV4 verification, streaming into the blob store, one SQLite
// transaction with fsync), one new version per iteration.
func BenchmarkPublishGeneric(b *testing.B) {
	for _, size := range []int{4 << 10, testMaxAsset} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			h := newHarness(b)
			h.seed(b, "bench")
			content := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				content[0], content[1], content[2] = byte(i), byte(i>>8), byte(i>>16) // distinct blobs
				in := params{"domain": fxDomain, "repository": "bench", "format": "generic", "namespace": fxNS, "package": "pkg",
					"packageVersion": fmt.Sprintf("1.0.%d", i), "assetName": "a.bin", "assetContent": content}
				if r := h.call(b, "PublishPackageVersion", in); r.status != 200 {
					b.Fatalf("publish: %d %s", r.status, r.body)
				}
			}
		})
	}
}

// BenchmarkListPackageVersions measures a control-plane read of a package
// with 1,000 versions.
func BenchmarkListPackageVersions(b *testing.B) {
	h := newHarness(b)
	h.seed(b, "bench")
	for i := 0; i < 1000; i++ {
		h.publish(b, "bench", fxPkg, fmt.Sprintf("1.0.%d", i), "a.bin", []byte(fmt.Sprint(i)), false)
	}
	in := pkgParams("bench").with("maxResults", jsonInt(1000))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := h.call(b, "ListPackageVersions", in); r.status != 200 {
			b.Fatalf("list: %d %s", r.status, r.body)
		}
	}
}
