// Command checkall runs the planner's build-dependency check over a Packages
// and a Sources file, like dose-builddebcheck, for benchmarks.
//
//	checkall [-arch amd64] [-explain] Packages Sources
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/packyard/packyard/internal/plan"
	"github.com/packyard/packyard/internal/plan/indexfile"
)

func main() {
	arch := flag.String("arch", "amd64", "native architecture")
	explain := flag.Bool("explain", false, "print reasons as JSON")
	workers := flag.Int("j", 0, "workers (0: all CPUs)")
	timing := flag.Bool("timing", false, "print phase timings on stderr")
	firstAlt := flag.Bool("first-alternative", false, "only the first alternative of build-dependencies (dose --deb-emulate-sbuild)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: checkall [-arch A] Packages Sources")
		os.Exit(2)
	}
	t0 := time.Now()
	bins, err := indexfile.ReadPackages(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srcs, err := indexfile.ReadSources(flag.Arg(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	t1 := time.Now()
	u := plan.NewUniverse(*arch, bins)
	t2 := time.Now()
	rep := u.CheckAll(srcs, plan.CheckOptions{Workers: *workers, FirstAlternative: *firstAlt})
	t3 := time.Now()
	if *timing {
		fmt.Fprintf(os.Stderr, "load %v compile %v check %v total %v; solver %+v\n", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t3.Sub(t0), rep.Stats)
	}
	for _, r := range rep.Results {
		if r.Satisfiable {
			continue
		}
		if *explain {
			b, _ := json.Marshal(r)
			fmt.Println(string(b))
		} else {
			fmt.Printf("%s %s\n", r.Source, r.Version)
		}
	}
	fmt.Fprintf(os.Stderr, "source-packages: %d\nbroken-packages: %d\n", rep.Checked, rep.Broken)
}
