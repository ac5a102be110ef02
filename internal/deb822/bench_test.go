package deb822

import (
	"os"
	"testing"
)

// BenchmarkScanFile parses $DEB822_BENCH_FILE (for example a pantry
// Packages file); it is skipped when unset.
func BenchmarkScanFile(b *testing.B) {
	path := os.Getenv("DEB822_BENCH_FILE")
	if path == "" {
		b.Skip("DEB822_BENCH_FILE not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	s := string(data)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ParseString(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGet looks up fields of a typical Packages stanza.
func BenchmarkGet(b *testing.B) {
	p, err := ParseFirst([]byte("Package: hello\nSource: hello (2.10-3)\nVersion: 2.10-3\nInstalled-Size: 280\nMaintainer: X <x@example.org>\nArchitecture: amd64\nDepends: libc6 (>= 2.34)\nDescription: example\nHomepage: https://example.org\nDescription-md5: 0\nTag: role::program\nSection: devel\nPriority: optional\nFilename: pool/main/h/hello/hello_2.10-3_amd64.deb\nSize: 53132\nMD5sum: 0\nSHA256: 0\n"))
	if err != nil {
		b.Fatal(err)
	}
	names := []string{"Package", "Version", "Depends", "Pre-Depends", "SHA256", "multi-arch"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, n := range names {
			_ = p.Get(n)
		}
	}
}
