// Command plantool plans builds from index files, for benchmarks and manual
// checks of the planner:
//
//	plantool -packages P -sources S [-from-sources S2 -from-packages P2] [-bootstrap] [-compile-all] [-json|-dot] TARGET...
//
// It reads the indexes as the CLI does (relation fields on demand) and
// compiles what the targets reach; -compile-all reads every relation and
// compiles every package, as the planner did before it pruned.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/packyard/packyard/internal/plan"
	"github.com/packyard/packyard/internal/plan/indexfile"
)

func main() {
	arch := flag.String("arch", "amd64", "native architecture")
	packages := flag.String("packages", "", "target distribution Packages")
	sources := flag.String("sources", "", "target distribution Sources (optional)")
	fromSources := flag.String("from-sources", "", "Sources to take targets and build-deps from (backports)")
	fromPackages := flag.String("from-packages", "", "Packages built from -from-sources")
	bootstrap := flag.Bool("bootstrap", false, "treat the targets' existing binaries as unavailable")
	asJSON := flag.Bool("json", false, "JSON output")
	asDot := flag.Bool("dot", false, "Graphviz output")
	repeat := flag.Int("repeat", 1, "plan this many times and report the median time")
	survey := flag.Int("survey", 0, "plan every Nth source of -from-sources alone and print one line each")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the planning")
	compileAll := flag.Bool("compile-all", false, "read every relation field and compile every package")
	flag.Parse()
	readPackages, readSources := indexfile.ReadIndexPackages, indexfile.ReadIndexSources
	if *compileAll || *survey > 0 {
		readPackages, readSources = indexfile.ReadPackages, indexfile.ReadSources
	}
	die := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	t0 := time.Now()
	in := plan.Input{Arch: *arch}
	var err error
	if in.Binaries, err = readPackages(*packages); err != nil {
		die(err)
	}
	if *fromSources != "" {
		a := plan.SourceArchive{Name: "from"}
		if a.Sources, err = readSources(*fromSources); err != nil {
			die(err)
		}
		if *fromPackages != "" {
			if a.Binaries, err = readPackages(*fromPackages); err != nil {
				die(err)
			}
		}
		in.Archives = append(in.Archives, a)
	}
	if *sources != "" {
		a := plan.SourceArchive{Name: "to", Binaries: in.Binaries}
		if a.Sources, err = readSources(*sources); err != nil {
			die(err)
		}
		in.Archives = append(in.Archives, a)
	}
	t1 := time.Now()
	// A survey plans thousands of unrelated targets: compile everything once.
	p := plan.NewPlanner(in, plan.Options{BuildDeps: true, Bootstrap: *bootstrap, CompileAll: *compileAll || *survey > 0})
	t2 := time.Now()
	if *survey > 0 {
		runSurvey(p, in.Archives[0].Sources, *survey)
		return
	}
	var targets []plan.Target
	for _, a := range flag.Args() {
		targets = append(targets, plan.Target{Name: a})
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			die(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var pl *plan.Plan
	var perr error
	var times []time.Duration
	for i := 0; i < *repeat; i++ {
		t := time.Now()
		pl, perr = p.Plan(targets)
		times = append(times, time.Since(t))
	}
	fmt.Fprintf(os.Stderr, "load %v compile %v plan %v first, %v median of %d\n", t1.Sub(t0), t2.Sub(t1), times[0], median(times), len(times))
	if pl != nil {
		switch {
		case *asJSON:
			plan.WriteJSON(os.Stdout, pl)
		case *asDot:
			plan.WriteDot(os.Stdout, pl)
		default:
			plan.WriteText(os.Stdout, pl)
		}
	}
	if perr != nil {
		fmt.Fprintln(os.Stderr, "error:", perr)
		pprof.StopCPUProfile()
		os.Exit(3)
	}
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// runSurvey plans every nth source alone and prints: name, items, stages,
// milliseconds, error kind; then the median and 90th percentile times.
func runSurvey(p *plan.Planner, srcs []*plan.SourcePackage, n int) {
	var times []time.Duration
	for i := 0; i < len(srcs); i += n {
		t := time.Now()
		pl, err := p.Plan([]plan.Target{{Name: srcs[i].Package}})
		d := time.Since(t)
		times = append(times, d)
		kind := "ok"
		switch {
		case errors.Is(err, plan.ErrCycle):
			kind = "cycle"
		case err != nil:
			kind = "missing"
		}
		items, stages := 0, 0
		if pl != nil {
			items, stages = len(pl.Items), len(pl.Stages)
		}
		fmt.Printf("%s %d %d %.1f %s\n", srcs[i].Package, items, stages, float64(d.Microseconds())/1000, kind)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	fmt.Fprintf(os.Stderr, "planned %d targets: median %v, p90 %v, max %v\n", len(times), times[len(times)/2], times[len(times)*9/10], times[len(times)-1])
}
