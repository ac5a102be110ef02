package archive

import (
	"log/slog"
	"os"
	"testing"

	"github.com/packyard/packyard/internal/config"
)

// BenchmarkLoadIndex loads bookworm main from the pantry of the config in
// $PACKYARD_BENCH_CONFIG (skipped when unset); bench/archive/run.sh is the
// full comparison.
func BenchmarkLoadIndex(b *testing.B) {
	path := os.Getenv("PACKYARD_BENCH_CONFIG")
	if path == "" {
		b.Skip("PACKYARD_BENCH_CONFIG not set")
	}
	cfg, err := config.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	p, _ := OpenPantry(cfg, slog.New(slog.DiscardHandler))
	sel := Selection{Suites: []string{"bookworm"}, Components: []string{"main"}, Architectures: []string{"amd64"}}
	for i := 0; i < b.N; i++ {
		if _, err := p.LoadIndex(sel); err != nil {
			b.Fatal(err)
		}
	}
}
