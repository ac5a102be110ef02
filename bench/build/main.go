// Command buildbench measures packyard's builders against bare tools on the
// same .dsc (make bench runs it through run.sh):
//
//  1. session setup: OpenSession plus a trivial bwrap step, median of many;
//  2. packyard dpkg builder, warm (environment and build-dependency layer
//     ready): the whole Build call, with its phases (session, stage,
//     extract, build-deps, build, collect, close);
//  3. bare dpkg-buildpackage in an already prepared chroot (a copy of the
//     environment with the build-dependencies installed), entered with
//     chroot(8) as the same user with the same environment: only
//     dpkg-buildpackage is timed;
//  4. sbuild --chroot-mode=unshare on the same .dsc (through packyard's
//     sbuild builder; the environment tarball is made before timing).
//
// Packyard and bare builds run in interleaved pairs, alternating which goes
// first; medians are reported. Besides wall time, each build's CPU time
// (user+system of the whole process tree, from a cgroup) is reported: it
// does not swing with the machine's other load, so it shows whether the
// session makes the build itself do more work.
//
// It prints one line per measurement and the ratios the issue asks for, and
// exits non-zero only on errors (not on missed targets).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/packyard/packyard/internal/build"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/env/envtest"
	"github.com/packyard/packyard/internal/run"
)

func main() {
	dsc := flag.String("dsc", "", "the .dsc to build (hello)")
	work := flag.String("work", "/var/tmp/packyard-bench-build", "scratch directory (prepared chroot, outputs)")
	runs := flag.Int("runs", 1, "builds per builder (the median is reported)")
	sessions := flag.Int("sessions", 50, "session setups to time")
	skipSbuild := flag.Bool("skip-sbuild", false, "skip sbuild")
	sbuildRuns := flag.Int("sbuild-runs", 1, "sbuild builds (the median is reported)")
	flag.Parse()
	if err := bench(*dsc, *work, *runs, *sessions, *skipSbuild, *sbuildRuns); err != nil {
		fmt.Fprintln(os.Stderr, "buildbench:", err)
		os.Exit(1)
	}
}

func bench(dsc, work string, runs, sessions int, skipSbuild bool, sbuildRuns int) error {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	archives, err := envtest.HostArchives("/etc/apt/sources.list.d")
	if err != nil {
		return err
	}
	cfg := config.Default(filepath.Join(envtest.Root, "workspace"), envtest.Codename, envtest.Arch, archives)
	mgr := env.NewManager(cfg, logger, run.New(logger))
	e, err := mgr.Ensure(ctx, envtest.Codename, envtest.Arch)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	fmt.Printf("load average at start: %s\n", loadAverage())
	cpu, err := newCPUMeter()
	if err != nil {
		fmt.Printf("cpu time: not measured (%v)\n", err)
	}
	defer cpu.close()

	setup, err := timeSessions(ctx, mgr, e, sessions)
	if err != nil {
		return err
	}
	fmt.Printf("session setup (overlay mount + bwrap entry of /bin/true): median %.1f ms, overlay mount alone median %.2f ms (n=%d)\n",
		ms(setup.total), ms(setup.mount), sessions)

	dpkg := build.NewDpkg(mgr, logger)
	req := build.Request{DSC: dsc, Env: e}
	// Warm-up: makes the build-dependency layer if it is missing.
	req.OutDir, req.LogPath = filepath.Join(work, "warmup"), filepath.Join(work, "warmup.log")
	if _, err := dpkg.Build(ctx, req); err != nil {
		return fmt.Errorf("warm-up build: %w", err)
	}
	bareRun, err := bareDpkg(ctx, e, dsc, work)
	if err != nil {
		return fmt.Errorf("preparing the bare chroot: %w", err)
	}
	py := func(i int) (sample, error) { return packyardRun(ctx, dpkg, req, work, i, cpu) }
	bare := func(i int) (sample, error) { return bareSample(bareRun, i, cpu) }
	warm, err := pairs(runs, py, bare)
	if err != nil {
		return err
	}
	if !skipSbuild {
		if err := sbuildRun(ctx, mgr, logger, req, work, sbuildRuns, warm); err != nil {
			return err
		}
	}
	fmt.Printf("load average at end: %s\n", loadAverage())
	return nil
}

// sample is one timed build.
type sample struct {
	wall, cpu time.Duration
	phases    []build.Phase
}

func packyardRun(ctx context.Context, dpkg *build.Dpkg, req build.Request, work string, i int, cpu *cpuMeter) (sample, error) {
	r := req
	r.OutDir, r.LogPath = filepath.Join(work, fmt.Sprintf("dpkg-%d", i)), filepath.Join(work, fmt.Sprintf("dpkg-%d.log", i))
	_ = os.RemoveAll(r.OutDir)
	_ = os.Remove(r.LogPath)
	var res *build.Result
	start := time.Now()
	used, err := cpu.measure(func() (err error) {
		res, err = dpkg.Build(ctx, r)
		return err
	})
	if err != nil {
		return sample{}, fmt.Errorf("packyard dpkg build: %w", err)
	}
	return sample{wall: time.Since(start), cpu: used, phases: res.Phases}, nil
}

func bareSample(bareRun func(i int) (time.Duration, error), i int, cpu *cpuMeter) (sample, error) {
	var d time.Duration
	used, err := cpu.measure(func() (err error) {
		d, err = bareRun(i)
		return err
	})
	if err != nil {
		return sample{}, fmt.Errorf("bare dpkg-buildpackage: %w", err)
	}
	return sample{wall: d, cpu: used}, nil
}

// pairs runs packyard and bare builds interleaved, alternating which goes
// first (so neither always follows the other), prints every run, the
// per-phase medians and the ratios, and returns packyard's median wall time.
func pairs(runs int, py, bare func(i int) (sample, error)) (time.Duration, error) {
	var ps, bs []sample
	for i := 0; i < runs; i++ {
		order := []string{"packyard", "bare"}
		if i%2 == 1 {
			order = []string{"bare", "packyard"}
		}
		for _, who := range order {
			if who == "packyard" {
				s, err := py(i)
				if err != nil {
					return 0, err
				}
				ps = append(ps, s)
				continue
			}
			s, err := bare(i)
			if err != nil {
				return 0, err
			}
			bs = append(bs, s)
		}
		p, b := ps[i], bs[i]
		fmt.Printf("  run %d (%s first): packyard %.1f s (cpu %.1f s; %s), bare %.1f s (cpu %.1f s); load %s\n",
			i+1, order[0], p.wall.Seconds(), p.cpu.Seconds(), build.FormatPhases(p.phases), b.wall.Seconds(), b.cpu.Seconds(), loadAverage())
	}
	report(ps, bs)
	return median(walls(ps)), nil
}

func report(ps, bs []sample) {
	warm, bare := median(walls(ps)), median(walls(bs))
	fmt.Printf("packyard phases, medians: %s\n", build.FormatPhases(medianPhases(ps)))
	var outside []time.Duration
	for _, p := range ps {
		outside = append(outside, p.wall-seconds(build.PhaseSeconds(p.phases, "build")))
	}
	fmt.Printf("packyard outside dpkg-buildpackage: median %.2f s\n", median(outside).Seconds())
	fmt.Printf("packyard build (dpkg builder, warm env and layer): median %.1f s (cpu median %.1f s)\n", warm.Seconds(), median(cpus(ps)).Seconds())
	fmt.Printf("bare dpkg-buildpackage in a prepared chroot: median %.1f s (cpu median %.1f s)\n", bare.Seconds(), median(cpus(bs)).Seconds())
	fmt.Printf("ratio packyard/bare: %.2fx wall (target <= 1.15x)", warm.Seconds()/bare.Seconds())
	if c := median(cpus(bs)); c > 0 {
		fmt.Printf(", %.2fx cpu", median(cpus(ps)).Seconds()/c.Seconds())
	}
	fmt.Println()
}

func sbuildRun(ctx context.Context, mgr *env.Manager, logger *slog.Logger, req build.Request, work string, runs int, warm time.Duration) error {
	sb := build.NewSbuild(mgr, logger)
	sreq := req
	sbuildTime, err := timeRuns(runs, func(i int) error {
		sreq.OutDir, sreq.LogPath = filepath.Join(work, fmt.Sprintf("sbuild-%d", i)), filepath.Join(work, fmt.Sprintf("sbuild-%d.log", i))
		_ = os.RemoveAll(sreq.OutDir)
		_ = os.Remove(sreq.LogPath)
		_, err := sb.Build(ctx, sreq)
		return err
	})
	if err != nil {
		return fmt.Errorf("sbuild: %w", err)
	}
	fmt.Printf("sbuild --chroot-mode=unshare: median %.1f s\n", sbuildTime.Seconds())
	fmt.Printf("speed-up packyard vs sbuild: %.2fx (target >= 1.8x)\n", sbuildTime.Seconds()/warm.Seconds())
	return nil
}

func walls(ss []sample) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = s.wall
	}
	return out
}

func cpus(ss []sample) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = s.cpu
	}
	return out
}

// medianPhases returns each phase's median over the samples, in the
// order of the first sample.
func medianPhases(ss []sample) []build.Phase {
	if len(ss) == 0 {
		return nil
	}
	var out []build.Phase
	for _, p := range ss[0].phases {
		var ds []time.Duration
		for _, s := range ss {
			ds = append(ds, seconds(build.PhaseSeconds(s.phases, p.Name)))
		}
		out = append(out, build.Phase{Name: p.Name, Seconds: median(ds).Seconds()})
	}
	return out
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// loadAverage returns the first three fields of /proc/loadavg.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

type setupTimes struct{ total, mount time.Duration }

func timeSessions(ctx context.Context, mgr *env.Manager, e *env.Env, n int) (setupTimes, error) {
	var totals, mounts []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		s, err := mgr.OpenSession(ctx, e)
		if err != nil {
			return setupTimes{}, err
		}
		err = s.Run(ctx, env.Step{Command: []string{"/bin/true"}, Env: []string{"PATH=/usr/bin:/bin"}})
		totals = append(totals, time.Since(start))
		mounts = append(mounts, s.SetupTime)
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return setupTimes{}, err
		}
	}
	return setupTimes{total: median(totals), mount: median(mounts)}, nil
}

func timeRuns(n int, fn func(i int) error) (time.Duration, error) {
	var ds []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := fn(i); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return median(ds), nil
}

// median returns the middle value (the mean of the two middle ones for
// an even count); it does not reorder ds.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// bareDpkg prepares a chroot once (a copy of the environment with the
// build-dependencies installed) and returns a function that times
// dpkg-buildpackage alone in it, with the same user and options
// (dpkg-buildpackage sets SOURCE_DATE_EPOCH from the changelog itself).
func bareDpkg(ctx context.Context, e *env.Env, dsc, work string) (func(i int) (time.Duration, error), error) {
	r := run.New(nil)
	chroot := filepath.Join(work, "chroot")
	src, err := build.ReadDSC(dsc)
	if err != nil {
		return nil, err
	}
	dir := "/build/" + src.Source + "-" + build.UpstreamVersion(src.Version)
	extract := func() error {
		_ = os.RemoveAll(filepath.Join(chroot, "build"))
		if err := os.MkdirAll(filepath.Join(chroot, "build"), 0o755); err != nil {
			return err
		}
		if err := r.Run(ctx, run.Cmd{Args: []string{"dpkg-source", "--extract", dsc, filepath.Join(chroot, dir)}}); err != nil {
			return err
		}
		return r.Run(ctx, run.Cmd{Args: []string{"chown", "-R", fmt.Sprintf("%d:%d", env.BuildUID, env.BuildGID), filepath.Join(chroot, "build")}})
	}
	if _, err := os.Stat(filepath.Join(work, "chroot.prepared")); err != nil {
		_ = os.RemoveAll(chroot)
		if err := r.Run(ctx, run.Cmd{Args: []string{"cp", "-a", e.Root, chroot}}); err != nil {
			return nil, err
		}
		if err := extract(); err != nil {
			return nil, err
		}
		install := []string{"bwrap", "--bind", chroot, "/", "--proc", "/proc", "--dev", "/dev",
			"--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf", "--setenv", "DEBIAN_FRONTEND", "noninteractive",
			"apt-get", "build-dep", "--yes", "--no-install-recommends", dir}
		if err := r.Run(ctx, run.Cmd{Args: install}); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(work, "chroot.prepared"), nil, 0o644); err != nil {
			return nil, err
		}
	}
	script := fmt.Sprintf(`mount -t proc proc %[1]s/proc && mount --rbind /dev %[1]s/dev && exec chroot %[1]s setpriv --reuid=%[2]d --regid=%[3]d --clear-groups env -i %[5]s sh -c 'cd %[4]s && exec %[6]s'`,
		chroot, env.BuildUID, env.BuildGID, dir, strings.Join(build.UserEnvironment(), " "),
		strings.Join(build.DpkgBuildpackageArgs(build.Request{}), " "))
	return func(i int) (time.Duration, error) {
		if err := extract(); err != nil {
			return 0, err
		}
		log, err := os.Create(filepath.Join(work, fmt.Sprintf("bare-%d.log", i)))
		if err != nil {
			return 0, err
		}
		defer log.Close()
		start := time.Now()
		err = r.Run(ctx, run.Cmd{Args: []string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script}, Log: log})
		return time.Since(start), err
	}, nil
}
