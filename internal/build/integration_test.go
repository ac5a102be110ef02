//go:build integration

package build_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/build"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/env/envtest"
	"github.com/packyard/packyard/internal/run"
	"github.com/packyard/packyard/internal/sign"
)

const itRoot = envtest.Root

func testEnv(t *testing.T) (*config.Config, *env.Manager, *env.Env) {
	t.Helper()
	return envtest.Env(t)
}

// fetchSource downloads source package name from the first archive's
// bookworm main Sources index into itRoot/src/<name>/ and returns the .dsc.
func fetchSource(t *testing.T, cfg *config.Config, name string) string {
	t.Helper()
	dir := filepath.Join(itRoot, "src", name)
	if m, _ := filepath.Glob(filepath.Join(dir, "*.dsc")); len(m) == 1 {
		return m[0]
	}
	mirror := strings.TrimSuffix(cfg.Archives[0].URI, "/")
	idx := filepath.Join(itRoot, "src", "Sources")
	if _, err := os.Stat(idx); err != nil {
		if err := os.MkdirAll(filepath.Dir(idx), 0o755); err != nil {
			t.Fatal(err)
		}
		download(t, mirror+"/dists/bookworm/main/source/Sources.xz", idx+".xz", "")
		if err := run.New(nil).Run(context.Background(), run.Cmd{Args: []string{"xz", "-d", "-k", idx + ".xz"}}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	var para string
	for _, p := range strings.Split(string(data), "\n\n") {
		if strings.HasPrefix(p, "Package: "+name+"\n") {
			para = p
		}
	}
	if para == "" {
		t.Fatalf("source %s not in Sources", name)
	}
	var directory string
	files := map[string]string{}
	inSums := false
	sc := bufio.NewScanner(strings.NewReader(para))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Directory: "):
			directory = strings.TrimPrefix(line, "Directory: ")
		case line == "Checksums-Sha256:":
			inSums = true
		case inSums && strings.HasPrefix(line, " "):
			f := strings.Fields(line)
			files[f[2]] = f[0]
		default:
			inSums = false
		}
	}
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	var dsc string
	for f, sum := range files {
		download(t, mirror+"/"+directory+"/"+f, filepath.Join(tmp, f), sum)
		if strings.HasSuffix(f, ".dsc") {
			dsc = f
		}
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, dsc)
}

func download(t *testing.T, url, dst, sha string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, resp.Body); err != nil {
		t.Fatal(err)
	}
	if sha != "" {
		sum := sha256.Sum256(buf.Bytes())
		if got := hex.EncodeToString(sum[:]); got != sha {
			t.Fatalf("%s: sha256 %s; want %s", url, got, sha)
		}
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func buildDSC(t *testing.T, name string, req build.Request) *build.Result {
	t.Helper()
	cfg, mgr, e := testEnv(t)
	req.DSC = fetchSource(t, cfg, name)
	req.Env = e
	if req.OutDir == "" {
		req.OutDir = t.TempDir()
	}
	if req.LogPath == "" {
		// Kept for inspection after the test.
		req.LogPath = filepath.Join(itRoot, "logs", t.Name()+".log")
		_ = os.Remove(req.LogPath)
	}
	d := build.NewDpkg(mgr, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	res, err := d.Build(ctx, req)
	if err != nil {
		log, _ := os.ReadFile(req.LogPath)
		t.Fatalf("Build(%s): %v\n%s", name, err, tail(string(log), 60))
	}
	return res
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func hasFile(files []string, suffix string) bool {
	for _, f := range files {
		if strings.HasSuffix(f, suffix) {
			return true
		}
	}
	return false
}

func TestBuildHelloFromDSC(t *testing.T) {
	res := buildDSC(t, "hello", build.Request{})
	for _, want := range []string{"_amd64.deb", "_amd64.buildinfo", "_amd64.changes"} {
		if !hasFile(res.Files, want) {
			t.Errorf("Files = %v; want one ending in %s", res.Files, want)
		}
	}
	log, _ := os.ReadFile(res.LogPath)
	if !bytes.Contains(log, []byte("dpkg-buildpackage")) {
		t.Errorf("build log %s does not show dpkg-buildpackage", res.LogPath)
	}
}

func TestBuildCMakePackage(t *testing.T) {
	res := buildDSC(t, "cjson", build.Request{})
	if !hasFile(res.Files, "_amd64.deb") {
		t.Errorf("Files = %v; want .deb files", res.Files)
	}
}

func TestBuildSourceTreeWithoutDebian(t *testing.T) {
	_, mgr, e := testEnv(t)
	dir := t.TempDir()
	_, err := build.NewDpkg(mgr, nil).Build(context.Background(), build.Request{SourceTree: dir, Env: e, OutDir: t.TempDir()})
	if !errors.Is(err, build.ErrNotSourceTree) {
		t.Fatalf("Build(tree without debian/) = %v; want ErrNotSourceTree", err)
	}
}

// writeNative writes a minimal native source package whose debian/rules
// runs rulesBody for every target.
func writeNative(t *testing.T, dir, name, rulesBody string) {
	t.Helper()
	files := map[string]string{
		"debian/changelog": name + " (1.0) unstable; urgency=medium\n\n  * Test.\n\n -- Packyard Test <test@example.org>  Sat, 21 Nov 2026 10:00:00 +0000\n",
		"debian/control": "Source: " + name + "\nSection: misc\nPriority: optional\nMaintainer: Packyard Test <test@example.org>\nRules-Requires-Root: no\nStandards-Version: 4.6.2\n\n" +
			"Package: " + name + "\nArchitecture: all\nDescription: packyard test package\n test\n",
		"debian/source/format": "3.0 (native)\n",
		"debian/rules":         "#!/usr/bin/make -f\n%:\n\t" + rulesBody + "\n",
	}
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if p == "debian/rules" {
			mode = 0o755
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBuildFailureReturnsError(t *testing.T) {
	_, mgr, e := testEnv(t)
	tree := filepath.Join(t.TempDir(), "failing-1.0")
	writeNative(t, tree, "failing", "echo this build fails on purpose; exit 3")
	logPath := filepath.Join(t.TempDir(), "build.log")
	out := t.TempDir()
	_, err := build.NewDpkg(mgr, nil).Build(context.Background(), build.Request{SourceTree: tree, Env: e, OutDir: out, LogPath: logPath})
	var be *build.Error
	if !errors.As(err, &be) || !errors.Is(err, build.ErrBuildFailed) {
		t.Fatalf("Build(failing) = %v; want *build.Error wrapping ErrBuildFailed", err)
	}
	if be.LogPath != logPath || be.Step != "build" {
		t.Errorf("error = %+v; want step build and log %s", be, logPath)
	}
	log, _ := os.ReadFile(logPath)
	if !bytes.Contains(log, []byte("this build fails on purpose")) {
		t.Errorf("log %s lacks the failing command's output", logPath)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("failed build left %d files in OutDir", len(entries))
	}
}

func TestBuildSourceTree(t *testing.T) {
	cfg, mgr, e := testEnv(t)
	dsc := fetchSource(t, cfg, "hello")
	work := t.TempDir()
	for _, f := range []string{"hello_2.10.orig.tar.gz", "hello_2.10.orig.tar.gz.asc"} {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(dsc), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tree := filepath.Join(work, "hello-2.10")
	if err := run.New(nil).Run(context.Background(), run.Cmd{Args: []string{"dpkg-source", "--extract", dsc, tree}}); err != nil {
		t.Fatal(err)
	}
	d := build.NewDpkg(mgr, nil)
	res, err := d.Build(context.Background(), build.Request{SourceTree: tree, Env: e, OutDir: t.TempDir(),
		LogPath: filepath.Join(itRoot, "logs", t.Name()+".log")})
	if err != nil {
		t.Fatalf("Build(source tree): %v", err)
	}
	for _, want := range []string{".dsc", "_amd64.deb", "_amd64.changes", ".debian.tar.xz"} {
		if !hasFile(res.Files, want) {
			t.Errorf("Files = %v; want one ending in %s", res.Files, want)
		}
	}
}

func TestSbuildHello(t *testing.T) {
	cfg, mgr, e := testEnv(t)
	dsc := fetchSource(t, cfg, "hello")
	logPath := filepath.Join(itRoot, "logs", t.Name()+".log")
	_ = os.Remove(logPath)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	res, err := build.NewSbuild(mgr, nil).Build(ctx, build.Request{DSC: dsc, Env: e, OutDir: t.TempDir(), LogPath: logPath})
	if err != nil {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("sbuild hello: %v\n%s", err, tail(string(log), 60))
	}
	for _, want := range []string{"hello_2.10-3_amd64.deb", "_amd64.changes", "_amd64.buildinfo"} {
		if !hasFile(res.Files, want) {
			t.Errorf("Files = %v; want one ending in %s", res.Files, want)
		}
	}
	if res.PrimaryLog == "" {
		t.Error("sbuild result has no primary (.build) log")
	} else if data, _ := os.ReadFile(res.PrimaryLog); !bytes.Contains(data, []byte("Status: successful")) {
		t.Errorf("primary log %s lacks Status: successful", res.PrimaryLog)
	}
}

const probeScript = `use IO::Socket::INET;
my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0, ReuseAddr => 1) or die "listen: $!";
my $port = $s->sockport;
if (fork() == 0) {
	my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port) or die "connect: $!";
	print $c "hello-loopback\n";
	exit 0;
}
my $a = $s->accept;
my $l = <$a>;
print "loopback: $l";
my $o = IO::Socket::INET->new(PeerAddr => $ARGV[0], PeerPort => 80, Timeout => 5);
print $o ? "outside: connected\n" : "outside: failed: $!\n";
`

const probeRules = `#!/usr/bin/make -f
clean:
	rm -rf debian/tmp debian/files probe.txt
build build-arch build-indep:
	perl debian/probe.pl $$(cat debian/probe-addr) | tee probe.txt
	grep -q "loopback: hello-loopback" probe.txt
	grep -q "outside: failed" probe.txt
	setsid sleep 31341 </dev/null >/dev/null 2>&1 &
binary binary-arch binary-indep: build
	mkdir -p debian/tmp/DEBIAN debian/tmp/usr/share/doc/netprobe
	cp probe.txt debian/tmp/usr/share/doc/netprobe/
	dpkg-gencontrol -pnetprobe -Pdebian/tmp
	dpkg-deb --root-owner-group --build debian/tmp ..
.PHONY: clean build build-arch build-indep binary binary-arch binary-indep
`

// TestBuildNetworkAndDaemon builds a package whose build reaches a
// loopback server it starts (must work), tries the mirror's address (must
// fail) and leaves a daemon behind (must be killed).
func TestBuildNetworkAndDaemon(t *testing.T) {
	cfg, mgr, e := testEnv(t)
	u, err := url.Parse(cfg.Archives[0].URI)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := net.LookupHost(u.Hostname())
	if err != nil || len(addrs) == 0 {
		t.Skipf("cannot resolve the mirror: %v", err)
	}
	addr := addrs[0]
	for _, a := range addrs {
		if !strings.Contains(a, ":") {
			addr = a
		}
	}
	tree := filepath.Join(t.TempDir(), "netprobe-1.0")
	writeNative(t, tree, "netprobe", "true")
	for name, content := range map[string]string{"debian/rules": probeRules, "debian/probe.pl": probeScript, "debian/probe-addr": addr + "\n"} {
		if err := os.WriteFile(filepath.Join(tree, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(itRoot, "logs", t.Name()+".log")
	_ = os.Remove(logPath)
	res, err := build.NewDpkg(mgr, nil).Build(context.Background(), build.Request{SourceTree: tree, Env: e, OutDir: t.TempDir(), LogPath: logPath})
	log, _ := os.ReadFile(logPath)
	if err != nil {
		t.Fatalf("Build(netprobe): %v\n%s", err, tail(string(log), 40))
	}
	if !bytes.Contains(log, []byte("loopback: hello-loopback")) || !bytes.Contains(log, []byte("outside: failed")) {
		t.Errorf("build log lacks the probe's verdicts:\n%s", tail(string(log), 40))
	}
	if !hasFile(res.Files, "netprobe_1.0_all.deb") {
		t.Errorf("Files = %v; want netprobe_1.0_all.deb", res.Files)
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, d := range dirs {
		if cmd, _ := os.ReadFile(d); bytes.Contains(cmd, []byte("sleep\x0031341")) {
			t.Errorf("the daemon the build left (%s) still runs", d)
		}
	}
}

// TestReproducibleHelloAndLintian builds hello twice in different build
// paths (and so at different times): Debian reports hello reproducible, so
// the .debs must be identical. lintian's report is kept.
func TestReproducibleHelloAndLintian(t *testing.T) {
	cfg, mgr, e := testEnv(t)
	dsc := fetchSource(t, cfg, "hello")
	out := t.TempDir()
	logPath := filepath.Join(itRoot, "logs", t.Name()+".log")
	_ = os.Remove(logPath)
	_ = os.Remove(logPath + ".repro")
	ctx := context.Background()
	res, rep, err := build.VerifyReproducible(ctx, build.NewDpkg(mgr, nil), run.New(nil),
		build.Request{DSC: dsc, Env: e, OutDir: out, LogPath: logPath})
	if err != nil {
		t.Fatalf("VerifyReproducible(hello): %v (report %+v)", err, rep)
	}
	if len(rep.Identical) < 1 || len(rep.Differ) != 0 {
		t.Errorf("report = %+v; want hello's .debs identical", rep)
	}
	lint, err := build.RunLintian(ctx, run.New(nil), res.Files, filepath.Join(out, "lintian.txt"), "")
	if err != nil {
		t.Fatalf("RunLintian: %v", err)
	}
	if _, err := os.Stat(lint.ReportPath); err != nil {
		t.Errorf("lintian report missing: %v", err)
	}
	if lint.Counts["E"] != 0 {
		t.Errorf("lintian found errors in hello: %v", lint.Tags)
	}
}

// writeTree writes files (path -> content) below dir; debian/rules is
// made executable.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

const trivialRules = `#!/usr/bin/make -f
clean:
	rm -rf debian/tmp debian/files
build build-arch build-indep:
	%s
binary binary-arch binary-indep: build
	mkdir -p debian/tmp/DEBIAN debian/tmp/usr/share/doc/%s
	echo built > debian/tmp/usr/share/doc/%s/marker
	dpkg-gencontrol -p%s -Pdebian/tmp
	dpkg-deb --root-owner-group --build debian/tmp ..
.PHONY: clean build build-arch build-indep binary binary-arch binary-indep
`

func nativePackage(name, buildDepends, buildCmd string) map[string]string {
	bd := ""
	if buildDepends != "" {
		bd = "Build-Depends: " + buildDepends + "\n"
	}
	return map[string]string{
		"debian/changelog": name + " (1.0) unstable; urgency=medium\n\n  * Test.\n\n -- Packyard Test <test@example.org>  Sat, 21 Nov 2026 10:00:00 +0000\n",
		"debian/control": "Source: " + name + "\nSection: misc\nPriority: optional\nMaintainer: Packyard Test <test@example.org>\n" + bd +
			"Rules-Requires-Root: no\nStandards-Version: 4.6.2\n\nPackage: " + name + "\nArchitecture: all\nDescription: packyard test package\n test\n",
		"debian/source/format": "3.0 (native)\n",
		"debian/rules":         fmt.Sprintf(trivialRules, buildCmd, name, name, name),
	}
}

// TestExtraRepositoryBothBuilders builds a package whose build-dependency
// exists only in a local repository handed in as an extra repository, with
// the dpkg builder and with sbuild.
func TestExtraRepositoryBothBuilders(t *testing.T) {
	_, mgr, e := testEnv(t)
	ctx := context.Background()
	work := t.TempDir()
	repo := filepath.Join(work, "repo")
	dep := filepath.Join(work, "packyard-dep-1.0")
	writeTree(t, dep, nativePackage("packyard-dep", "", "true"))
	if _, err := build.NewDpkg(mgr, nil).Build(ctx, build.Request{SourceTree: dep, Env: e, OutDir: repo}); err != nil {
		t.Fatalf("building the dependency: %v", err)
	}
	extra, _ := signedFlatRepository(t, work, repo)
	user := filepath.Join(work, "packyard-user-1.0")
	writeTree(t, user, nativePackage("packyard-user", "packyard-dep", "test -e /usr/share/doc/packyard-dep/marker"))
	for _, b := range []build.Builder{build.NewDpkg(mgr, nil), build.NewSbuild(mgr, nil)} {
		t.Run(b.Name(), func(t *testing.T) {
			logPath := filepath.Join(itRoot, "logs", "TestExtraRepository-"+b.Name()+".log")
			_ = os.Remove(logPath)
			res, err := b.Build(ctx, build.Request{SourceTree: user, Env: e, OutDir: t.TempDir(), LogPath: logPath, ExtraRepositories: extra})
			if err != nil {
				log, _ := os.ReadFile(logPath)
				t.Fatalf("%s build with extra repository: %v\n%s", b.Name(), err, tail(string(log), 40))
			}
			if !hasFile(res.Files, "packyard-user_1.0_all.deb") {
				t.Errorf("Files = %v", res.Files)
			}
		})
	}
}

// signedFlatRepository makes repo (holding .debs) a flat repository signed
// by a new key, kept with its keyring below work made 0700 (like a
// workspace under /root, which apt's _apt user cannot enter on the host),
// and returns its apt source line and the key (for indexFlatRepository).
func signedFlatRepository(t *testing.T, work, repo string) ([]string, *sign.Key) {
	t.Helper()
	key, err := sign.Generate("packyard test", "test@example.org")
	if err != nil {
		t.Fatal(err)
	}
	indexFlatRepository(t, repo, key)
	pub, err := key.PublicBinary()
	if err != nil {
		t.Fatal(err)
	}
	keyring := filepath.Join(work, "keys", "packyard.gpg")
	writeTree(t, filepath.Join(work, "keys"), map[string]string{"packyard.gpg": string(pub)})
	if err := os.Chmod(work, 0o700); err != nil {
		t.Fatal(err)
	}
	return []string{"deb [signed-by=" + keyring + "] file:" + repo + " ./"}, key
}

// indexFlatRepository writes repo's Packages, Release and InRelease
// (apt-ftparchive, signed with key).
func indexFlatRepository(t *testing.T, repo string, key *sign.Key) {
	t.Helper()
	ctx := context.Background()
	r := run.New(nil)
	for _, idx := range []string{"packages", "release"} {
		out, err := r.Output(ctx, run.Cmd{Args: []string{"apt-ftparchive", idx, "."}, Dir: repo})
		if err != nil {
			t.Fatal(err)
		}
		name := map[string]string{"packages": "Packages", "release": "Release"}[idx]
		if err := os.WriteFile(filepath.Join(repo, name), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	release, err := os.ReadFile(filepath.Join(repo, "Release"))
	if err != nil {
		t.Fatal(err)
	}
	inRelease, err := key.ClearSign(release)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "InRelease"), inRelease, 0o644); err != nil {
		t.Fatal(err)
	}
}
