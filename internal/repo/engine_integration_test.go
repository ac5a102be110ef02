//go:build integration

package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/sign"
)

// serve serves the repository root on 127.0.0.1 and returns its base URL.
func serve(t testing.TB, root string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv := &http.Server{Handler: http.FileServer(http.Dir(root))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestRacePublishVersusAptUpdate publishes 200 generations of one suite
// while apt-get update runs in a loop against the repository over HTTP:
// every update must succeed without a hash-sum mismatch.
func TestRacePublishVersusAptUpdate(t *testing.T) {
	requireTools(t, "apt-get")
	r, _ := newTestRepo(t)
	ctx := context.Background()
	in := t.TempDir()
	const publishes = 200
	var debs []string
	for i := 0; i < publishes; i++ {
		debs = append(debs, writeTestDeb(t, in, fmt.Sprintf("race%03d", i%40), fmt.Sprintf("1.%d", i), "amd64", ""))
	}
	if _, err := r.Add(ctx, testDist, debs[0]); err != nil {
		t.Fatal(err)
	}
	base := serve(t, r.Root())
	apt := newAptEnv(t, r.AptSourceLineURL(base, testDist))
	var done atomic.Bool
	var updates, failures int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() || updates < 5 {
			out, err := apt.run(t, "", "apt-get", "-o", "Acquire::http::Proxy=DIRECT", "update")
			updates++
			if err != nil || strings.Contains(out, "Hash Sum mismatch") || regexp.MustCompile(`(?m)^[WE]:`).MatchString(out) {
				failures++
				t.Errorf("apt-get update %d failed: %v\n%s", updates, err, out)
			}
		}
	}()
	start := time.Now()
	for i := 1; i < publishes; i++ {
		if _, err := r.Add(ctx, testDist, debs[i]); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	elapsed := time.Since(start)
	done.Store(true)
	wg.Wait()
	t.Logf("%d publishes in %v (%.1f ms each); %d apt-get updates, %d failed", publishes-1, elapsed.Round(time.Millisecond), float64(elapsed.Milliseconds())/float64(publishes-1), updates, failures)
	if updates < 5 {
		t.Errorf("only %d apt-get updates ran", updates)
	}
	if rep, err := r.Check(ctx); err != nil {
		t.Errorf("Check: %v %+v", err, rep)
	}
}

// TestAptFtparchiveAgrees compares our Packages stanzas with apt-ftparchive's
// view of the same pool.
func TestAptFtparchiveAgrees(t *testing.T) {
	requireTools(t, "dpkg-deb", "apt-ftparchive")
	r, _ := newTestRepo(t)
	in := t.TempDir()
	var debs []string
	debs = append(debs, dpkgDeb(t, in, "ftp-one", "1.0-1", "amd64", "Depends: libc6 (>= 2.36)\nHomepage: https://example.invalid/\n"))
	debs = append(debs, dpkgDeb(t, in, "ftp-two", "2:3.4~rc1-2", "all", "Source: ftp-src (3.4~rc1-1)\nMulti-Arch: foreign\n"))
	if _, err := r.Add(context.Background(), testDist, debs...); err != nil {
		t.Fatal(err)
	}
	// Asked for the checksums Debian's archive lists (MD5sum, SHA256).
	out := runTool(t, r.Root(), "apt-ftparchive", "--no-sha1", "--no-sha512", "packages", "pool")
	theirs, err := parseStanzas([]byte(out))
	must(t, err)
	ours, err := parseStanzas([]byte(readPublished(t, r, "main/binary-amd64/Packages")))
	must(t, err)
	if len(theirs) != len(ours) {
		t.Fatalf("apt-ftparchive has %d stanzas, we have %d", len(theirs), len(ours))
	}
	compareStanzas(t, ours, theirs, "apt-ftparchive", "Description-md5", true)
}

// TestRollbackReachesApt checks that after a rollback apt really gets the
// older content.
func TestRollbackReachesApt(t *testing.T) {
	requireTools(t, "apt-get", "apt-cache")
	r, _ := newTestRepo(t)
	ctx := context.Background()
	in := t.TempDir()
	apt := newAptEnv(t, r.AptSourceLine(testDist))
	candidate := func() string {
		out, err := apt.run(t, "", "apt-cache", "policy", "rolly")
		must(t, err)
		m := regexp.MustCompile(`Candidate: (\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no candidate:\n%s", out)
		}
		return m[1]
	}
	for _, v := range []string{"1.0", "2.0"} {
		if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "rolly", v, "amd64", "")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // distinct Release dates
		apt.checkUpdate(t)
		if got := candidate(); got != v {
			t.Fatalf("candidate = %s; want %s", got, v)
		}
	}
	if _, err := r.RollbackTo(ctx, testDist, 0); err != nil {
		t.Fatal(err)
	}
	apt.checkUpdate(t)
	if got := candidate(); got != "1.0" {
		t.Errorf("after rollback candidate = %s; want 1.0", got)
	}
	dl := t.TempDir()
	if out, err := apt.run(t, dl, "apt-get", "download", "rolly"); err != nil {
		t.Fatalf("apt-get download: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dl, "rolly_1.0_amd64.deb")); err != nil {
		t.Errorf("downloaded: %v", err)
	}
}

// distcheckBroken runs dose-distcheck on a Packages file and returns the
// broken package names.
func distcheckBroken(t testing.TB, packages []byte) []string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Packages")
	must(t, os.WriteFile(p, packages, 0o644))
	cmd := exec.Command("dose-distcheck", "--deb-native-arch=amd64", "-f", "deb://"+p)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		t.Fatalf("dose-distcheck: %v\n%s", err, out)
	}
	var broken []string
	for _, m := range regexp.MustCompile(`(?m)^  package: (\S+)`).FindAllStringSubmatch(string(out), -1) {
		broken = append(broken, m[1])
	}
	sort.Strings(broken)
	return broken
}

// TestBuiltinAgreesWithDistcheck compares the built-in installability check
// with dose-distcheck on cases with versions, alternatives, Provides,
// Conflicts and Breaks.
func TestBuiltinAgreesWithDistcheck(t *testing.T) {
	requireTools(t, "dose-distcheck")
	cases := map[string]string{
		"versions":     "Package: a\nVersion: 1\nArchitecture: amd64\nDepends: b (>= 2)\n\nPackage: b\nVersion: 1\nArchitecture: amd64\n\nPackage: c\nVersion: 1\nArchitecture: amd64\nDepends: b (<< 2)\n",
		"alternatives": "Package: a\nVersion: 1\nArchitecture: amd64\nDepends: x | b\n\nPackage: b\nVersion: 1\nArchitecture: amd64\nDepends: y\n\nPackage: d\nVersion: 1\nArchitecture: amd64\nDepends: x | e\n\nPackage: e\nVersion: 1\nArchitecture: all\n",
		"provides":     "Package: a\nVersion: 1\nArchitecture: amd64\nDepends: virt (>= 2)\n\nPackage: p\nVersion: 1\nArchitecture: amd64\nProvides: virt (= 3)\n\nPackage: q\nVersion: 1\nArchitecture: amd64\nDepends: other-virt (>= 1)\n\nPackage: r\nVersion: 1\nArchitecture: amd64\nProvides: other-virt\n",
		"conflicts":    "Package: a\nVersion: 1\nArchitecture: amd64\nDepends: b, c\n\nPackage: b\nVersion: 1\nArchitecture: amd64\nConflicts: c\n\nPackage: c\nVersion: 1\nArchitecture: amd64\n\nPackage: d\nVersion: 1\nArchitecture: amd64\nDepends: e\n\nPackage: e\nVersion: 2\nArchitecture: amd64\nBreaks: d (<< 2)\n",
		"deep":         "Package: a\nVersion: 1\nArchitecture: amd64\nPre-Depends: b\n\nPackage: b\nVersion: 1\nArchitecture: amd64\nDepends: c | d\n\nPackage: c\nVersion: 1\nArchitecture: amd64\nDepends: missing\n\nPackage: d\nVersion: 1\nArchitecture: amd64\nConflicts: a\n",
	}
	for name, pk := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Builtin{}.Uninstallable(context.Background(), "amd64", [][]byte{[]byte(pk)}, nil)
			must(t, err)
			var ours []string
			for p := range got {
				ours = append(ours, p)
			}
			sort.Strings(ours)
			want := distcheckBroken(t, []byte(pk))
			if strings.Join(ours, " ") != strings.Join(want, " ") {
				t.Errorf("builtin broken = %v; dose-distcheck = %v (%v)", ours, want, got)
			}
		})
	}
}

// TestMigrationRefusedWhenTargetBreaks: migrating lib 2.0 to testing would
// break app there; packyard refuses, and dose-distcheck confirms that the
// refused state would have been broken and the kept one is not.
func TestMigrationRefusedWhenTargetBreaks(t *testing.T) {
	requireTools(t, "dose-distcheck")
	r, _ := newTestRepo(t)
	ctx := context.Background()
	in := t.TempDir()
	if _, err := r.Add(ctx, testDist,
		writeTestDeb(t, in, "lib", "1.0", "amd64", ""),
		writeTestDeb(t, in, "app", "1.0", "amd64", "Depends: lib (<< 2)\n")); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"lib", "app"} {
		if _, err := r.Migrate(ctx, n, testDist, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "lib", "2.0", "amd64", "")); err != nil {
		t.Fatal(err)
	}
	testingBefore := readFileOf(t, r, testTesting, "main/binary-amd64/Packages")
	_, err := r.Migrate(ctx, "lib", testDist, "")
	var ue *UninstallableError
	if !errors.As(err, &ue) {
		t.Fatalf("Migrate = %v; want *UninstallableError", err)
	}
	t.Logf("refused: %v", err)
	if b := distcheckBroken(t, []byte(testingBefore)); len(b) != 0 {
		t.Errorf("dose-distcheck finds testing broken before: %v", b)
	}
	// The state the migration would have made: testing with unstable's lib.
	unstable, err := parseStanzas([]byte(readPublished(t, r, "main/binary-amd64/Packages")))
	must(t, err)
	var would []byte
	sts, err := parseStanzas([]byte(testingBefore))
	must(t, err)
	for _, s := range sts {
		if s.get("Package") != "lib" {
			would = s.appendTo(would)
		}
	}
	for _, s := range unstable {
		if s.get("Package") == "lib" {
			would = s.appendTo(would)
		}
	}
	if b := distcheckBroken(t, would); strings.Join(b, " ") != "app" {
		t.Errorf("dose-distcheck on the refused state: broken %v; want [app]", b)
	}
	if after := readFileOf(t, r, testTesting, "main/binary-amd64/Packages"); after != testingBefore {
		t.Errorf("refused migration changed testing")
	}
	// With app 2.0 (lib (<< 3)) migrated first... app 2.0 needs lib 2, so
	// migrating both in the right order works.
	if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "app", "2.0", "amd64", "Depends: lib (>= 2)\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Copy(ctx, testDist, testTesting, "lib", "app"); err != nil {
		t.Fatal(err)
	}
	if b := distcheckBroken(t, []byte(readFileOf(t, r, testTesting, "main/binary-amd64/Packages"))); len(b) != 0 {
		t.Errorf("dose-distcheck after copying both: %v", b)
	}
}

func readFileOf(t testing.TB, r *Repo, dist, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.Root(), "dists", dist, rel))
	must(t, err)
	return string(data)
}

// TestCrashChild is the child of TestKillNine: it publishes until killed.
func TestCrashChild(t *testing.T) {
	ws := os.Getenv("PACKYARD_CRASH_WORKSPACE")
	if ws == "" {
		t.Skip("child of TestKillNine only")
	}
	r := openCrashRepo(t, ws)
	r.grace = 0
	if point := os.Getenv("PACKYARD_CRASH_POINT"); point != "" {
		r.hook = func(p string) {
			if p == point {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
	}
	in := filepath.Join(ws, "in")
	ctx := context.Background()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	fmt.Println("ready")
	for i := 0; ; i++ {
		switch rng.Intn(6) {
		case 0:
			r.GC(ctx)
		case 1:
			r.Remove(ctx, testDist, fmt.Sprintf("crash%d", rng.Intn(8)))
		default:
			n := rng.Intn(8)
			v := fmt.Sprintf("%d.%d", time.Now().UnixNano(), i)
			r.Add(ctx, testDist, writeTestDeb(t, in, fmt.Sprintf("crash%d", n), v, "amd64", ""))
		}
	}
}

func openCrashRepo(t testing.TB, ws string) *Repo {
	t.Helper()
	key, err := sign.LoadKey(filepath.Join(ws, "key.asc"))
	must(t, err)
	r := newRepoIn(t, ws, key)
	r.cfg.Repository.Distributions[0].Suites[2].Rollbacks = 2
	return r
}

// TestKillNine kills a publishing process with SIGKILL at random moments,
// 200 times: every time apt-get update succeeds on what is published before
// any recovery, and Check (which recovers first) passes.
func TestKillNine(t *testing.T) {
	requireTools(t, "apt-get")
	ws := t.TempDir()
	key, err := sign.Generate("packyard crash test", "crash@packyard.invalid")
	must(t, err)
	must(t, key.SaveSecret(filepath.Join(ws, "key.asc")))
	r := newRepoIn(t, ws, key)
	must(t, os.MkdirAll(filepath.Join(ws, "in"), 0o755))
	if _, err := r.Add(context.Background(), testDist, writeTestDeb(t, filepath.Join(ws, "in"), "crash0", "0", "amd64", "")); err != nil {
		t.Fatal(err)
	}
	apt := newAptEnv(t, r.AptSourceLine(testDist))
	rng := rand.New(rand.NewSource(1))
	cycles := 200
	if testing.Short() {
		cycles = 20
	}
	// First a kill at each named point of add, publish and gc, then at random
	// moments.
	points := []string{"pool-checked", "before-swap", "after-swap", "gc-dist", "gc-pool", "gc-store"}
	var gens []int
	for i := 0; i < cycles+len(points); i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PACKYARD_CRASH_WORKSPACE="+ws)
		if i < len(points) {
			cmd.Env = append(cmd.Env, "PACKYARD_CRASH_POINT="+points[i])
		}
		stdout, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		ready := make([]byte, 6)
		io.ReadFull(stdout, ready) // "ready\n": the child is publishing now
		if i < len(points) {
			// The child kills itself at the point (or runs into the timeout).
			timer := time.AfterFunc(20*time.Second, func() { cmd.Process.Signal(syscall.SIGKILL) })
			cmd.Wait()
			timer.Stop()
		} else {
			time.Sleep(time.Duration(rng.Intn(300)) * time.Millisecond)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		}
		if i%4 == 0 {
			apt.checkUpdate(t)
		}
		rc := openCrashRepo(t, ws)
		if rep, err := rc.Check(context.Background()); err != nil {
			t.Fatalf("cycle %d: Check: %v\n%+v", i, err, rep.Problems)
		}
		n, _, _ := rc.current(testDist)
		gens = append(gens, n)
	}
	apt.checkUpdate(t)
	t.Logf("generations after each kill: %v", gens)
	if gens[len(gens)-1] < cycles/4 {
		t.Errorf("only %d generations published in %d cycles", gens[len(gens)-1], cycles)
	}
}
