//go:build integration

package repo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/packyard/packyard/internal/config"
)

// requireTools skips (or fails in CI) when a program is missing.
func requireTools(t testing.TB, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not installed in CI", p)
			}
			t.Skipf("%s not installed", p)
		}
	}
}

// dpkgDeb builds a real .deb with dpkg-deb --build.
func dpkgDeb(t testing.TB, out, name, version, arch, extra string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), name)
	must(t, os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755))
	must(t, os.MkdirAll(filepath.Join(root, "usr/share/doc", name), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "usr/share/doc", name, "README"), []byte("hello from "+name+" "+version+"\n"), 0o644))
	ctl := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <test@packyard.invalid>\nSection: misc\nPriority: optional\n%sDescription: packyard test package %s\n built by dpkg-deb in a test\n", name, version, arch, extra, name)
	must(t, os.WriteFile(filepath.Join(root, "DEBIAN/control"), []byte(ctl), 0o644))
	p := filepath.Join(out, fmt.Sprintf("%s_%s_%s.deb", name, version, arch))
	runTool(t, "", "dpkg-deb", "--root-owner-group", "-Zxz", "--build", root, p)
	return p
}

// runTool runs a program and returns its combined output, failing the test
// on a non-zero exit.
func runTool(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// aptEnv is a private apt state directory, so apt-get runs without touching
// the machine's own apt state and without root.
type aptEnv struct {
	dir string
}

func newAptEnv(t testing.TB, sourceLine string) *aptEnv {
	t.Helper()
	d := t.TempDir()
	for _, sub := range []string{"etc/apt.conf.d", "etc/preferences.d", "etc/trusted.gpg.d", "etc/sources.list.d", "state/lists/partial", "cache/archives/partial", "log"} {
		must(t, os.MkdirAll(filepath.Join(d, sub), 0o755))
	}
	must(t, os.WriteFile(filepath.Join(d, "etc/sources.list"), []byte(sourceLine+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(d, "status"), nil, 0o644))
	return &aptEnv{dir: d}
}

func (a *aptEnv) args(extra ...string) []string {
	args := []string{
		"-o", "Dir::Etc=" + filepath.Join(a.dir, "etc"),
		"-o", "Dir::Etc::sourcelist=" + filepath.Join(a.dir, "etc/sources.list"),
		"-o", "Dir::Etc::sourceparts=" + filepath.Join(a.dir, "etc/sources.list.d"),
		"-o", "Dir::State=" + filepath.Join(a.dir, "state"),
		"-o", "Dir::State::status=" + filepath.Join(a.dir, "status"),
		"-o", "Dir::Cache=" + filepath.Join(a.dir, "cache"),
		"-o", "Dir::Log=" + filepath.Join(a.dir, "log"),
		"-o", "Debug::NoLocking=1",
		"-o", "APT::Architecture=amd64",
		"-o", "Acquire::Languages=none",
	}
	if os.Geteuid() == 0 {
		// The _apt sandbox user cannot read a test's private temporary directory.
		args = append(args, "-o", "APT::Sandbox::User=root")
	}
	return append(args, extra...)
}

// run runs an apt program with the private state and returns combined output.
func (a *aptEnv) run(t testing.TB, dir, prog string, extra ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(prog, a.args(extra...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// checkUpdate runs apt-get update and fails on any error, warning or notice.
func (a *aptEnv) checkUpdate(t testing.TB, extra ...string) {
	t.Helper()
	out, err := a.run(t, "", "apt-get", append(extra, "update")...)
	if err != nil {
		t.Fatalf("apt-get update: %v\n%s", err, out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "W:") || strings.HasPrefix(l, "E:") || strings.HasPrefix(l, "N:") || strings.Contains(l, "Conflicting distribution") {
			t.Errorf("apt-get update printed %q\n%s", l, out)
		}
	}
}

// TestAptReadsChunkedIndexes checks that apt reads indexes made of many
// gzip members and xz streams, with no uncompressed form.
func TestAptReadsChunkedIndexes(t *testing.T) {
	requireTools(t, "dpkg-deb", "apt-get", "apt-cache")
	r, _ := newTestRepo(t)
	r.chunkTarget = 300
	r.plainLimit = 0
	in := t.TempDir()
	var debs []string
	for i := 0; i < 30; i++ {
		debs = append(debs, dpkgDeb(t, in, fmt.Sprintf("chunky%02d", i), "1.0", "amd64", ""))
	}
	if _, err := r.Add(context.Background(), testDist, debs[:20]...); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(context.Background(), testDist, debs[20:]...); err != nil {
		t.Fatal(err)
	}
	m, err := r.loadManifest(testDist, 2)
	must(t, err)
	if n := len(m.Indexes["main/binary-amd64/Packages"]); n < 5 {
		t.Fatalf("Packages has %d chunks; want many", n)
	}
	for _, comp := range []string{"", "-o Acquire::CompressionTypes::Order::=gz"} {
		apt := newAptEnv(t, r.AptSourceLine(testDist))
		var extra []string
		if comp != "" {
			extra = strings.Fields(comp)
		}
		apt.checkUpdate(t, extra...)
		out, err := apt.run(t, "", "apt-cache", "pkgnames", "chunky")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(out, "chunky"); got != 30 {
			t.Errorf("apt sees %d packages (%s); want 30", got, comp)
		}
	}
}

func TestAptAcceptsRepository(t *testing.T) {
	requireTools(t, "dpkg-deb", "apt-get", "apt-cache", "gpgv", "sqv")
	r, _ := newTestRepo(t)
	ctx := context.Background()
	in := t.TempDir()
	if _, err := r.Add(ctx, testDist, dpkgDeb(t, in, "packyard-hello", "1.0-1", "amd64", "")); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if _, err := r.Add(ctx, testDist, dpkgDeb(t, in, "packyard-data", "2.0-1", "all", "Depends: packyard-hello\n")); err != nil {
		t.Fatalf("Add second: %v", err)
	}
	apt := newAptEnv(t, r.AptSourceLine(testDist))
	apt.checkUpdate(t)
	// A fresh state that must fetch every index through by-hash.
	newAptEnv(t, r.AptSourceLine(testDist)).checkUpdate(t, "-o", "Acquire::By-Hash=force")
	for _, pkg := range []string{"packyard-hello", "packyard-data"} {
		out, err := apt.run(t, "", "apt-cache", "show", pkg)
		if err != nil || !strings.Contains(out, "Package: "+pkg) {
			t.Errorf("apt-cache show %s: %v\n%s", pkg, err, out)
		}
	}
	dl := t.TempDir()
	out, err := apt.run(t, dl, "apt-get", "download", "packyard-hello", "packyard-data")
	if err != nil {
		t.Fatalf("apt-get download: %v\n%s", err, out)
	}
	for _, f := range []string{"packyard-hello_1.0-1_amd64.deb", "packyard-data_2.0-1_all.deb"} {
		if _, err := os.Stat(filepath.Join(dl, f)); err != nil {
			t.Errorf("apt-get download did not fetch %s: %v", f, err)
		}
	}
	checkSignatures(t, r)
}

// checkSignatures verifies InRelease and Release.gpg with gpgv and sqv.
func checkSignatures(t testing.TB, r *Repo) {
	t.Helper()
	dists := filepath.Join(r.Root(), "dists", testDist)
	kr := r.cfg.WorkspaceDir().PublicKeyring()
	runTool(t, "", "gpgv", "--keyring", kr, filepath.Join(dists, "InRelease"))
	runTool(t, "", "gpgv", "--keyring", kr, filepath.Join(dists, "Release.gpg"), filepath.Join(dists, "Release"))
	runTool(t, "", "sqv", "--keyring", kr, filepath.Join(dists, "Release.gpg"), filepath.Join(dists, "Release"))
	// sqv verifies detached signatures only; apt splits InRelease the same way.
	data, err := os.ReadFile(filepath.Join(dists, "InRelease"))
	must(t, err)
	b, _ := clearsign.Decode(data)
	if b == nil {
		t.Fatal("InRelease is not clearsigned")
	}
	d := t.TempDir()
	var sig bytes.Buffer
	sig.ReadFrom(b.ArmoredSignature.Body)
	must(t, os.WriteFile(filepath.Join(d, "sig"), sig.Bytes(), 0o644))
	must(t, os.WriteFile(filepath.Join(d, "msg"), b.Bytes, 0o644))
	runTool(t, "", "sqv", "--keyring", kr, filepath.Join(d, "sig"), filepath.Join(d, "msg"))
}

// TestAptUsesSnapshotAndValidUntil checks that a snapshot is an apt source
// of its own that keeps its content after the suite moves on, and that a
// suite with valid-for publishes a Valid-Until apt accepts.
func TestAptUsesSnapshotAndValidUntil(t *testing.T) {
	requireTools(t, "apt-get", "apt-cache")
	r, _ := newTestRepo(t)
	r.cfg.Repository.Distributions[0].Suites[2].ValidFor = config.Duration(7 * 24 * time.Hour)
	ctx := context.Background()
	in := t.TempDir()
	if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "snappy", "1.0", "amd64", "")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readPublished(t, r, "Release"), "\nValid-Until: ") {
		t.Errorf("Release lacks Valid-Until")
	}
	if _, err := r.CreateSnapshot(ctx, testDist, "before-2.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "snappy", "2.0", "amd64", "")); err != nil {
		t.Fatal(err)
	}
	line, err := r.SnapshotSourceLine("before-2.0")
	must(t, err)
	for _, c := range []struct{ line, want string }{{line, "1.0"}, {r.AptSourceLine(testDist), "2.0"}} {
		apt := newAptEnv(t, c.line)
		apt.checkUpdate(t)
		out, err := apt.run(t, "", "apt-cache", "policy", "snappy")
		if err != nil || !strings.Contains(out, "Candidate: "+c.want) {
			t.Errorf("%s: apt-cache policy: %v\n%s", c.line, err, out)
		}
		dl := t.TempDir()
		if out, err := apt.run(t, dl, "apt-get", "download", "snappy"); err != nil {
			t.Errorf("apt-get download: %v\n%s", err, out)
		}
	}
	checkSignatures(t, r)
}
