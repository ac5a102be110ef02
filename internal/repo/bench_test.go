package repo

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkAddSmallSuite measures one Add+publish into a small suite.
func BenchmarkAddSmallSuite(b *testing.B) {
	r, _ := newTestRepo(b)
	in := b.TempDir()
	var debs []string
	for i := 0; i < b.N; i++ {
		debs = append(debs, writeTestDeb(b, in, fmt.Sprintf("pkg%03d", i%40), fmt.Sprintf("1.%d", i), "amd64", ""))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Add(context.Background(), testDist, debs[i]); err != nil {
			b.Fatal(err)
		}
	}
}
