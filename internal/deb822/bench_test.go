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
