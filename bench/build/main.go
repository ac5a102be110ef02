// Command buildbench measures packyard's builders against bare tools on the
// same .dsc (make bench runs it through run.sh):
//
//  1. session setup: OpenSession plus a trivial bwrap step, median of many;
//  2. packyard dpkg builder, warm (environment and build-dependency layer
//     ready): the whole Build call;
//  3. bare dpkg-buildpackage in an already prepared chroot (a copy of the
//     environment with the build-dependencies installed), entered with
//     chroot(8): only dpkg-buildpackage is timed;
//  4. sbuild --chroot-mode=unshare on the same .dsc (through packyard's
//     sbuild builder; the environment tarball is made before timing).
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
	// The two are interleaved (packyard, bare, packyard, bare, ...) so both
	// see the same machine load; medians are compared.
	bareRun, err := bareDpkg(ctx, e, dsc, work)
	if err != nil {
		return fmt.Errorf("preparing the bare chroot: %w", err)
	}
	var warms, bares []time.Duration
	for i := 0; i < runs; i++ {
		r := req
		r.OutDir, r.LogPath = filepath.Join(work, fmt.Sprintf("dpkg-%d", i)), filepath.Join(work, fmt.Sprintf("dpkg-%d.log", i))
		_ = os.RemoveAll(r.OutDir)
		_ = os.Remove(r.LogPath)
		start := time.Now()
		if _, err := dpkg.Build(ctx, r); err != nil {
			return fmt.Errorf("packyard dpkg build: %w", err)
		}
		warms = append(warms, time.Since(start))
		d, err := bareRun(i)
		if err != nil {
			return fmt.Errorf("bare dpkg-buildpackage: %w", err)
		}
		bares = append(bares, d)
		fmt.Printf("  run %d: packyard %.1f s, bare %.1f s\n", i+1, warms[i].Seconds(), d.Seconds())
	}
	warm, bare := median(warms), median(bares)
	fmt.Printf("packyard build (dpkg builder, warm env and layer): median %.1f s\n", warm.Seconds())
	fmt.Printf("bare dpkg-buildpackage in a prepared chroot: median %.1f s\n", bare.Seconds())
	fmt.Printf("ratio packyard/bare: %.2fx (target <= 1.15x)\n", warm.Seconds()/bare.Seconds())

	if !skipSbuild {
		sb := build.NewSbuild(mgr, logger)
		sreq := req
		sbuildTime, err := timeRuns(sbuildRuns, func(i int) error {
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
	}
	return nil
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

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
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
	script := fmt.Sprintf(`mount -t proc proc %[1]s/proc && mount --rbind /dev %[1]s/dev && exec chroot %[1]s setpriv --reuid=%[2]d --regid=%[3]d --clear-groups env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/nonexistent LANG=C.UTF-8 sh -c 'cd %[4]s && exec dpkg-buildpackage --no-sign --root-command=fakeroot --build=binary'`,
		chroot, env.BuildUID, env.BuildGID, dir)
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
