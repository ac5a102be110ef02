package repo

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkAddRealDebs adds the benchmark's real .debs when present
// (bench/repo/run.sh downloads them to /var/tmp/packyard-bench/debs).
func BenchmarkAddRealDebs(b *testing.B) {
	debs, _ := filepath.Glob("/var/tmp/packyard-bench/debs/*.deb")
	if len(debs) == 0 {
		b.Skip("no benchmark .debs")
	}
	if n := os.Getenv("PACKYARD_BENCH_DEBS"); n == "small" {
		debs = debs[:100]
	}
	for i := 0; i < b.N; i++ {
		r, _ := newTestRepo(b)
		r.contents = os.Getenv("PACKYARD_BENCH_CONTENTS") != "no"
		if _, err := r.Add(context.Background(), testDist, debs...); err != nil {
			b.Fatal(err)
		}
	}
}
