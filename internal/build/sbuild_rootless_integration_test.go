//go:build integration

package build_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/build"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/env/envtest"
	"github.com/packyard/packyard/internal/repo"
	"github.com/packyard/packyard/internal/run"
	"github.com/packyard/packyard/internal/sign"
)

// sbuildHostileRC is a ~/.sbuildrc that fails any sbuild reading it.
const sbuildHostileRC = "die \"packyard's sbuild builder read the user's ~/.sbuildrc\\n\";\n1;\n"

// TestRootlessSbuildHello runs the sbuild builder as an ordinary user with
// subordinate ids (envtest.RunAs, HOME holding a ~/.sbuildrc that makes
// sbuild fail): hello is built from its .dsc and published, then a package
// whose build-dependency exists only in that repository is built from a
// source tree with the repository as an extra (loopback-served) one.
// Nothing of the builds may be left in the workspace or in /tmp, also
// after a failed build and a cancelled one.
func TestRootlessSbuildHello(t *testing.T) {
	acc := envtest.EnsureRootlessUser(t)
	archives, err := envtest.HostArchives("/etc/apt/sources.list.d")
	if err != nil {
		t.Fatal(err)
	}
	dsc := fetchSource(t, config.Default(t.TempDir(), envtest.Codename, envtest.Arch, archives), "hello")
	home := filepath.Join(envtest.RootlessRoot, "sbuild-home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".sbuildrc"), []byte(sbuildHostileRC), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, acc.UID, acc.GID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := envtest.RunAs(t, acc, "TestRootlessHelperSbuildHello", 40*time.Minute, "PACKYARD_IT_DSC="+dsc, "HOME="+home)
	t.Logf("TestRootlessHelperSbuildHello as %s took %v:\n%s", acc.Name, time.Since(start).Round(time.Second), out)
	if err != nil || !strings.Contains(out, "--- PASS: TestRootlessHelperSbuildHello") {
		t.Errorf("rootless sbuild build failed: %v", err)
	}
}

// checkCleanedUp fails when the build directory of res or the chroot
// sbuild unpacked (named in its log, logPath) is still there: sbuild
// removes its chroot, packyard the build directory. Only this build's own
// paths are checked, so builds run by others at the same time do not
// count.
func checkCleanedUp(t *testing.T, name string, res *build.Result, logPath string) {
	t.Helper()
	if res == nil || res.CollectedFrom == "" {
		t.Errorf("%s: no build directory in the result %+v", name, res)
	} else if _, err := os.Lstat(res.CollectedFrom); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: build directory %s left behind (%v)", name, res.CollectedFrom, err)
	}
	log, _ := os.ReadFile(logPath)
	m := unpackedTo.FindSubmatch(log)
	if m == nil {
		t.Errorf("%s: log %s does not say where sbuild unpacked the chroot", name, logPath)
		return
	}
	if _, err := os.Lstat(string(m[1])); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: sbuild left its unpacked chroot %s (%v)", name, m[1], err)
	}
}

// unpackedTo matches sbuild's "Unpacking <tarball> to <dir>..." line.
var unpackedTo = regexp.MustCompile(`(?m)^Unpacking \S+ to (/\S+?)\.\.\.$`)

func TestRootlessHelperSbuildHello(t *testing.T) {
	cfg, mgr, e := envtest.RootlessEnv(t)
	dsc := os.Getenv("PACKYARD_IT_DSC")
	if dsc == "" {
		t.Fatal("PACKYARD_IT_DSC is not set")
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("HOME"), ".sbuildrc")); err != nil {
		t.Fatalf("the test's HOME has no hostile .sbuildrc: %v", err)
	}
	logs := sbuildLogDir(t)
	sb := build.NewSbuild(mgr, nil)
	res := rootlessSbuild(t, sb, build.Request{DSC: dsc, Env: e}, logs, "sbuild-hello")
	for _, want := range []string{"hello_2.10-3_amd64.deb", "_amd64.changes", "_amd64.buildinfo"} {
		if !hasFile(res.Files, want) {
			t.Errorf("Files = %v; want one ending in %s", res.Files, want)
		}
	}
	checkTarball(t, filepath.Join(cfg.WorkspaceDir().Cache(), "sbuild"), e)
	checkSbuildGC(t, sb, cfg, e)

	r, dist := testRepository(t, cfg)
	var changes string
	for _, f := range res.Files {
		if strings.HasSuffix(f, ".changes") {
			changes = f
		}
	}
	pub, err := r.Add(context.Background(), dist, changes, dsc)
	if err != nil {
		t.Fatalf("publishing sbuild's hello: %v", err)
	}
	if !addedPackage(pub, "hello", "amd64") {
		t.Errorf("publishing added %v; want hello for amd64", pub.Added)
	}
	// A build-dependency only in packyard's repository: sbuild gets it
	// from the loopback-served repository, pinned highest.
	if _, err := r.Add(context.Background(), dist, dependencyDeb(t, "packyard-sbuild-dep")); err != nil {
		t.Fatalf("publishing the dependency: %v", err)
	}
	tree := filepath.Join(t.TempDir(), "packyard-sbuild-user-1.0")
	writeTree(t, tree, nativePackage("packyard-sbuild-user", "packyard-sbuild-dep", "test -e /usr/share/doc/packyard-sbuild-dep/marker"))
	user := rootlessSbuild(t, sb, build.Request{SourceTree: tree, Env: e, ExtraRepositories: []string{r.AptSourceLine(dist)}}, logs, "sbuild-extra")
	if !hasFile(user.Files, "packyard-sbuild-user_1.0_all.deb") || !hasFile(user.Files, "packyard-sbuild-user_1.0.dsc") {
		t.Errorf("Files = %v; want the .deb and the .dsc of packyard-sbuild-user", user.Files)
	}
	rootlessSbuildFails(t, sb, e, logs)
	rootlessSbuildStopped(t, sb, e, logs)
	rootlessSbuildKilled(t, logs)
}

// rootlessSbuildFails builds a package whose build fails: a *build.Error
// (ErrBuildFailed) with sbuild's exit code and a primary log whose status
// is not successful.
func rootlessSbuildFails(t *testing.T, sb *build.Sbuild, e *env.Env, logs string) {
	t.Helper()
	tree := filepath.Join(t.TempDir(), "packyard-sbuild-fail-1.0")
	writeTree(t, tree, nativePackage("packyard-sbuild-fail", "", "false"))
	logPath := filepath.Join(logs, "sbuild-fail.log")
	res, err := sb.Build(context.Background(), build.Request{SourceTree: tree, Env: e, OutDir: t.TempDir(), LogPath: logPath})
	if !errors.Is(err, build.ErrBuildFailed) {
		t.Fatalf("failing build: err = %v; want ErrBuildFailed", err)
	}
	if res == nil || res.ExitCode == 0 || res.PrimaryLog == "" {
		t.Fatalf("failing build: result %+v; want a non-zero exit code and the primary log", res)
	}
	primary, _ := os.ReadFile(res.PrimaryLog)
	if got := build.SbuildStatus(string(primary)); got == "successful" || got == "" {
		t.Errorf("failing build: SbuildStatus = %q; want attempted or failed", got)
	}
	checkCleanedUp(t, "failing build", res, logPath)
}

// rootlessSbuildStopped cancels a build while it runs: sbuild gets
// SIGTERM, aborts and removes its unpacked chroot, and the error wraps
// context.Canceled.
func rootlessSbuildStopped(t *testing.T, sb *build.Sbuild, e *env.Env, logs string) {
	t.Helper()
	tree := filepath.Join(t.TempDir(), "packyard-sbuild-sleep-1.0")
	writeTree(t, tree, nativePackage("packyard-sbuild-sleep", "", "sleep 3141"))
	logPath := filepath.Join(logs, "sbuild-stopped.log")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if data, _ := os.ReadFile(logPath); strings.Contains(string(data), "\nsleep 3141") {
				cancel()
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	start := time.Now()
	res, err := sb.Build(ctx, build.Request{SourceTree: tree, Env: e, OutDir: t.TempDir(), LogPath: logPath})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped build: err = %v; want one wrapping context.Canceled", err)
	}
	t.Logf("stopped build returned after %v: %v", time.Since(start).Round(time.Millisecond), err)
	checkCleanedUp(t, "stopped build", res, logPath)
}

// sbuildLogDir returns a directory of this helper's own for its build
// logs (other runs of the test may build at the same time), kept for
// inspection when the test fails.
func sbuildLogDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(envtest.RootlessRoot, "logs", "sbuild-"+strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("build logs kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return dir
}

// rootlessSbuild builds req with sb and checks what every successful
// sbuild build gives: exit code 0, "Status: successful" in sbuild's .build
// log (the primary log), and artifacts owned by the calling user.
func rootlessSbuild(t *testing.T, sb *build.Sbuild, req build.Request, logs, name string) *build.Result {
	t.Helper()
	req.OutDir = t.TempDir()
	req.LogPath = filepath.Join(logs, name+".log")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := sb.Build(ctx, req)
	if err != nil {
		log, _ := os.ReadFile(req.LogPath)
		t.Fatalf("%s: %v\n%s", name, err, tail(string(log), 60))
	}
	t.Logf("%s took %v", name, time.Since(start).Round(time.Millisecond))
	checkCleanedUp(t, name, res, req.LogPath)
	if res.ExitCode != 0 {
		t.Errorf("%s: ExitCode = %d; want 0", name, res.ExitCode)
	}
	primary, err := os.ReadFile(res.PrimaryLog)
	if err != nil {
		t.Fatalf("%s: reading the primary log: %v", name, err)
	}
	if got := build.SbuildStatus(string(primary)); got != "successful" {
		t.Errorf("%s: SbuildStatus(%s) = %q; want successful", name, res.PrimaryLog, got)
	}
	for _, f := range res.Files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if uid := int(fi.Sys().(*syscall.Stat_t).Uid); uid != os.Getuid() {
			t.Errorf("%s: %s belongs to uid %d; want the caller %d", name, f, uid, os.Getuid())
		}
	}
	return res
}

// checkTarball lists the environment tarball in dir: its owners must be
// those inside the environment (root, _apt), none a host id of the caller
// or its subordinate range, and apt's partial/ must be in it.
func checkTarball(t *testing.T, dir string, e *env.Env) {
	t.Helper()
	tarballs, _ := filepath.Glob(filepath.Join(dir, e.Name()+"-*.tar"))
	if len(tarballs) != 1 {
		t.Fatalf("tarballs of %s in %s: %v; want one", e.Name(), dir, tarballs)
	}
	out, err := run.New(nil).Output(context.Background(), run.Cmd{Args: []string{"tar", "--numeric-owner", "-tvf", tarballs[0]}})
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]int{}
	partial := ""
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		owners[f[1]]++
		if f[5] == "./var/cache/apt/archives/partial/" {
			partial = f[1]
		}
	}
	if owners["0/0"] == 0 {
		t.Errorf("no file of root (0/0) in the tarball: owners %v", owners)
	}
	if partial != "42/0" {
		t.Errorf("./var/cache/apt/archives/partial/ owner %q; want _apt's 42/0 (owners %v)", partial, owners)
	}
	for o := range owners {
		uid, _ := strconv.Atoi(strings.Split(o, "/")[0])
		if uid == os.Getuid() || uid >= 65536 {
			t.Errorf("tarball records a host owner %s", o)
		}
	}
}

// testRepository returns a fresh signed repository in a temporary
// workspace and its unstable distribution.
func testRepository(t *testing.T, cfg *config.Config) (*repo.Repo, string) {
	t.Helper()
	rcfg := config.Default(t.TempDir(), envtest.Codename, envtest.Arch, cfg.Archives)
	key, err := sign.Generate("packyard test", "test@example.org")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicBinary()
	if err != nil {
		t.Fatal(err)
	}
	keyring := rcfg.WorkspaceDir().PublicKeyring()
	if err := os.MkdirAll(filepath.Dir(keyring), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyring, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(rcfg, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, rcfg.DistributionName(envtest.Codename, "unstable")
}

// dependencyDeb makes a binary package name (Architecture: all) that
// installs /usr/share/doc/<name>/marker, with dpkg-deb.
func dependencyDeb(t *testing.T, name string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), name)
	writeTree(t, root, map[string]string{
		"DEBIAN/control": "Package: " + name + "\nVersion: 1.0\nArchitecture: all\nMaintainer: Packyard Test <test@example.org>\n" +
			"Description: packyard test dependency\n test\n",
		"usr/share/doc/" + name + "/marker": "dependency\n",
	})
	if err := os.Chmod(filepath.Join(root, "DEBIAN", "control"), 0o644); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(filepath.Dir(root), name+"_1.0_all.deb")
	if err := run.New(nil).Run(context.Background(), run.Cmd{Args: []string{"dpkg-deb", "--root-owner-group", "--build", root, deb}}); err != nil {
		t.Fatal(err)
	}
	return deb
}

func addedPackage(res *repo.Result, name, arch string) bool {
	for _, p := range res.Added {
		if p.Package == name && p.Architecture == arch {
			return true
		}
	}
	return false
}

// rootlessSbuildKilled runs a build in another process
// (TestRootlessHelperSbuildKilled) and kills that process with SIGKILL
// while sbuild builds: sbuild gets its parent-death signal, aborts and
// removes its unpacked chroot; no process of the build may remain.
func rootlessSbuildKilled(t *testing.T, logs string) {
	t.Helper()
	tree := filepath.Join(t.TempDir(), "packyard-sbuild-killed-1.0")
	writeTree(t, tree, nativePackage("packyard-sbuild-killed", "", "sleep 3142"))
	logPath := filepath.Join(logs, "sbuild-killed.log")
	// This very binary: the copy RunAs ran may have been replaced since
	// by another test run.
	cmd := exec.Command("/proc/self/exe", "-test.run=^TestRootlessHelperSbuildKilled$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "PACKYARD_IT_SBUILD_TREE="+tree, "PACKYARD_IT_SBUILD_LOG="+logPath)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(20 * time.Minute)
	for building := false; !building; {
		select {
		case err := <-exited:
			t.Fatalf("the build process ended before it was killed: %v\n%s", err, out.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("the build in %s did not reach its build step", logPath)
		case <-time.After(200 * time.Millisecond):
			data, _ := os.ReadFile(logPath)
			building = strings.Contains(string(data), "\nsleep 3142")
		}
	}
	_ = cmd.Process.Kill()
	<-exited
	killed := time.Now()
	log, _ := os.ReadFile(logPath)
	m := unpackedTo.FindSubmatch(log)
	if m == nil {
		t.Fatalf("log %s does not say where sbuild unpacked the chroot", logPath)
	}
	for {
		_, err := os.Lstat(string(m[1]))
		procs := append(processesWith("packyard-sbuild-killed"), processesWith("sleep 3142")...)
		if errors.Is(err, os.ErrNotExist) && len(procs) == 0 {
			break
		}
		if time.Since(killed) > 3*time.Minute {
			t.Fatalf("3 minutes after kill -9: chroot %s (%v), processes %v", m[1], err, procs)
		}
		time.Sleep(time.Second)
	}
	t.Logf("after kill -9, sbuild removed its chroot and ended in %v", time.Since(killed).Round(time.Millisecond))
	// The killed packyard's build directory stays until a later build
	// sweeps it (after an hour); this test removes its own.
	left, _ := filepath.Glob(filepath.Join(envtest.RootlessRoot, "workspace", "tmp", "sbuild", "*", "packyard-sbuild-killed_1.0.dsc"))
	for _, dsc := range left {
		_ = os.RemoveAll(filepath.Dir(dsc))
	}
}

// processesWith returns the command lines of processes whose command
// line contains s (proc(5)).
func processesWith(s string) []string {
	var out []string
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, c := range cmdlines {
		data, _ := os.ReadFile(c)
		if line := strings.ReplaceAll(string(data), "\x00", " "); strings.Contains(line, s) {
			out = append(out, filepath.Base(filepath.Dir(c))+": "+line)
		}
	}
	return out
}

// TestRootlessHelperSbuildKilled builds the tree named by
// PACKYARD_IT_SBUILD_TREE until rootlessSbuildKilled kills it.
func TestRootlessHelperSbuildKilled(t *testing.T) {
	tree, logPath := os.Getenv("PACKYARD_IT_SBUILD_TREE"), os.Getenv("PACKYARD_IT_SBUILD_LOG")
	if tree == "" || logPath == "" {
		t.Skip("run by rootlessSbuildKilled only")
	}
	_, mgr, e := envtest.RootlessEnv(t)
	_, err := build.NewSbuild(mgr, nil).Build(context.Background(), build.Request{SourceTree: tree, Env: e, OutDir: t.TempDir(), LogPath: logPath})
	t.Errorf("the build was not killed: %v", err)
}

// checkSbuildGC plants, where the builds just ran, a tarball of an earlier
// state of e, a half-written one, a build directory a killed packyard left
// and a kept one (both two hours old), and checks that Sbuild.GC removes
// the first three and keeps the kept directory and e's current tarball.
func checkSbuildGC(t *testing.T, sb *build.Sbuild, cfg *config.Config, e *env.Env) {
	t.Helper()
	cache, builds := filepath.Join(cfg.WorkspaceDir().Cache(), "sbuild"), filepath.Join(cfg.WorkspaceDir().Tmp(), "sbuild")
	stale := filepath.Join(cache, e.Name()+"-20200101T000000-000000000000.tar")
	temp := filepath.Join(cache, env.TarballName(e)+".tmp-killed")
	old := time.Now().Add(-2 * time.Hour)
	leftover, kept := filepath.Join(builds, "20200101T000000-leftover"), filepath.Join(builds, "20200101T000000-kept")
	for _, f := range []string{stale, temp, filepath.Join(leftover, "hello_2.10-3.dsc"), filepath.Join(kept, ".packyard-kept")} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("planted"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{leftover, kept} {
		if err := os.Chtimes(d, old, old); err != nil {
			t.Fatal(err)
		}
	}
	defer os.RemoveAll(kept)
	rep, err := sb.GC(context.Background())
	if err != nil {
		t.Fatalf("Sbuild.GC: %v", err)
	}
	if !hasFile(rep.Tarballs, filepath.Base(stale)) || !hasFile(rep.Tarballs, filepath.Base(temp)) || !hasFile(rep.BuildDirs, filepath.Base(leftover)) {
		t.Errorf("Sbuild.GC = %+v; want %s, %s and %s among what it removed", rep, filepath.Base(stale), filepath.Base(temp), filepath.Base(leftover))
	}
	if rep.Bytes < 3*int64(len("planted")) {
		t.Errorf("Sbuild.GC freed %d bytes; want at least the planted files' %d", rep.Bytes, 3*len("planted"))
	}
	for _, p := range []string{stale, temp, leftover} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after Sbuild.GC, %s: %v; want removed", p, err)
		}
	}
	for _, p := range []string{kept, filepath.Join(cache, env.TarballName(e))} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("Sbuild.GC removed %s, which is kept or current: %v", p, err)
		}
	}
}
