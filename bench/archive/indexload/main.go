// Command indexload measures loading a suite's Sources and Packages into
// memory: packyard's LoadIndex (the planner's path) against
// pault.ag/go/debian's generic control decoder on the same files. It
// prints medians of -n runs and the ratio.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"pault.ag/go/debian/control"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/config"
)

func main() {
	cfgPath := flag.String("config", config.DefaultPath(), "packyard config")
	suite := flag.String("suite", "bookworm", "suite to load")
	comp := flag.String("component", "main", "component")
	arch := flag.String("arch", "amd64", "architecture")
	n := flag.Int("n", 5, "runs per measurement")
	flag.Parse()
	if err := run(*cfgPath, *suite, *comp, *arch, *n); err != nil {
		fmt.Fprintln(os.Stderr, "indexload:", err)
		os.Exit(1)
	}
}

func run(cfgPath, suite, comp, arch string, n int) error {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	p, err := archive.OpenPantry(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	sel := archive.Selection{Suites: []string{suite}, Components: []string{comp}, Architectures: []string{arch}}
	var nSrc, nPkg int
	ours := measure(n, func() error {
		idx, err := p.LoadIndex(sel)
		if err != nil {
			return err
		}
		if len(idx.Sources) != 1 || len(idx.Packages) != 1 {
			return fmt.Errorf("selection matched %d Sources and %d Packages indexes; want 1 each", len(idx.Sources), len(idx.Packages))
		}
		nSrc, nPkg = len(idx.Sources[0].Paragraphs), len(idx.Packages[0].Paragraphs)
		return nil
	})
	if ours.err != nil {
		return ours.err
	}
	var dir string
	for _, a := range cfg.Archives {
		if slices.Contains(a.Suites, suite) {
			dir = p.SuiteDir(a.Name, suite)
			break
		}
	}
	srcFile := filepath.Join(dir, comp, "source", "Sources")
	pkgFile := filepath.Join(dir, comp, "binary-"+arch, "Packages")
	theirsPkg := measure(n, func() error { return pault(pkgFile, nPkg) })
	theirsSrc := measure(n, func() error { return pault(srcFile, nSrc) })
	if theirsPkg.err != nil || theirsSrc.err != nil {
		return fmt.Errorf("pault.ag decoder: %v %v", theirsPkg.err, theirsSrc.err)
	}
	fmt.Printf("index load, %s %s Sources (%d stanzas) + Packages %s (%d stanzas), median of %d, GOMAXPROCS=%d, load average %s:\n",
		suite, comp, nSrc, arch, nPkg, n, runtime.GOMAXPROCS(0), loadAverage())
	fmt.Printf("  %-40s %8.3f s wall, %.3f s CPU (first run in the process %.3f s wall, %.3f s CPU)\n", "packyard LoadIndex (Sources+Packages)",
		ours.median.Seconds(), ours.cpu.Seconds(), ours.first.Seconds(), ours.firstCPU.Seconds())
	fmt.Printf("  %-40s %8.3f s wall, %.3f s CPU\n", "pault.ag control decoder, Packages", theirsPkg.median.Seconds(), theirsPkg.cpu.Seconds())
	fmt.Printf("  %-40s %8.3f s wall, %.3f s CPU\n", "pault.ag control decoder, Sources", theirsSrc.median.Seconds(), theirsSrc.cpu.Seconds())
	total := theirsPkg.median + theirsSrc.median
	fmt.Printf("  %-40s %8.1fx faster than pault.ag (%.3f s for both)\n", "ratio", total.Seconds()/ours.median.Seconds(), total.Seconds())
	verdict := "ok"
	if ours.median > 400*time.Millisecond {
		verdict = "OVER BUDGET"
	}
	fmt.Printf("  %-40s %s (budget 0.400 s)\n", "target", verdict)
	return nil
}

func pault(path string, want int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := control.NewParagraphReader(f, nil)
	if err != nil {
		return err
	}
	ps, err := r.All()
	if err != nil {
		return err
	}
	if len(ps) != want {
		return fmt.Errorf("%s: pault.ag read %d stanzas, packyard %d", path, len(ps), want)
	}
	return nil
}

type result struct {
	median, first, firstCPU time.Duration
	// cpu is the median user+system CPU time: on a busy machine it shows
	// the work done, where wall time also shows the wait for a core.
	cpu time.Duration
	err error
}

func measure(n int, fn func() error) result {
	var ds, cpus []time.Duration
	for i := 0; i < n; i++ {
		runtime.GC()
		start, cpu0 := time.Now(), cpuTime()
		if err := fn(); err != nil {
			return result{err: err}
		}
		ds = append(ds, time.Since(start))
		cpus = append(cpus, cpuTime()-cpu0)
	}
	first, firstCPU := ds[0], cpus[0]
	slices.Sort(ds)
	slices.Sort(cpus)
	return result{median: ds[len(ds)/2], first: first, firstCPU: firstCPU, cpu: cpus[len(cpus)/2]}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}
