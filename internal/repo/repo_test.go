package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/sign"
)

const testDist = "bookworm-packyard-unstable"

// newTestRepo returns a repository in a temporary workspace with a fresh key
// whose public keyring is written where AptSourceLine points.
func newTestRepo(t testing.TB) (*Repo, *sign.Key) {
	t.Helper()
	key, err := sign.Generate("packyard test", "test@packyard.invalid")
	if err != nil {
		t.Fatal(err)
	}
	return newRepoIn(t, t.TempDir(), key), key
}

// newRepoIn opens the repository of a default config in workspace ws.
func newRepoIn(t testing.TB, ws string, key *sign.Key) *Repo {
	t.Helper()
	cfg := config.Default(ws, "bookworm", "amd64", nil)
	pub, err := key.PublicBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cfg.WorkspaceDir().Keys(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.WorkspaceDir().PublicKeyring(), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(cfg, key, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// writeTestDeb writes <dir>/<name>_<version>_<arch>.deb built in Go.
func writeTestDeb(t testing.TB, dir, name, version, arch, extra string) string {
	t.Helper()
	ctl := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <test@packyard.invalid>\nInstalled-Size: 1\nSection: misc\nPriority: optional\n%sDescription: test package %s\n a test package\n", name, version, arch, extra, name)
	data, err := buildDeb(ctl, map[string]string{"usr/share/doc/" + name + "/README": "hello " + name + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, fmt.Sprintf("%s_%s_%s.deb", name, version, arch))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readPublished(t testing.TB, r *Repo, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.Root(), "dists", testDist, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestAddKeepsEarlierPackages(t *testing.T) {
	r, key := newTestRepo(t)
	ctx := context.Background()
	in := t.TempDir()
	if _, err := r.Add(ctx, testDist, writeTestDeb(t, in, "alpha", "1.0", "amd64", "")); err != nil {
		t.Fatalf("Add alpha: %v", err)
	}
	res, err := r.Add(ctx, testDist, writeTestDeb(t, in, "libbeta1", "2.0-1", "all", "Source: beta\n"))
	if err != nil {
		t.Fatalf("Add beta: %v", err)
	}
	if res.Generation != 2 {
		t.Errorf("Generation = %d; want 2", res.Generation)
	}
	pk := readPublished(t, r, "main/binary-amd64/Packages")
	for _, want := range []string{"Package: alpha\n", "Package: libbeta1\n", "Filename: pool/main/a/alpha/alpha_1.0_amd64.deb\n", "Filename: pool/main/b/beta/libbeta1_2.0-1_all.deb\n", "SHA256: ", "MD5sum: ", "Size: "} {
		if !strings.Contains(pk, want) {
			t.Errorf("Packages lacks %q:\n%s", want, pk)
		}
	}
	// Debian's archive lists MD5sum and SHA256 only; so does packyard.
	if strings.Contains(pk, "SHA1: ") {
		t.Errorf("Packages lists SHA1 (dak does not):\n%s", pk)
	}
	for _, f := range []string{"pool/main/a/alpha/alpha_1.0_amd64.deb", "pool/main/b/beta/libbeta1_2.0-1_all.deb"} {
		if _, err := os.Stat(filepath.Join(r.Root(), f)); err != nil {
			t.Errorf("pool file: %v", err)
		}
	}
	// Same name and architecture replaces.
	res, err = r.Add(ctx, testDist, writeTestDeb(t, in, "alpha", "1.1", "amd64", ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Replaced) != 1 || res.Replaced[0].Version != "1.0" {
		t.Errorf("Replaced = %+v; want alpha 1.0", res.Replaced)
	}
	pk = readPublished(t, r, "main/binary-amd64/Packages")
	if strings.Contains(pk, "Version: 1.0\n") || !strings.Contains(pk, "Version: 1.1\n") {
		t.Errorf("Packages after replace:\n%s", pk)
	}
	inrel := []byte(readPublished(t, r, "InRelease"))
	pub, _ := key.PublicBinary()
	kr, err := sign.ParseKeyring(pub)
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := sign.VerifyClearSigned(kr, inrel)
	if err != nil {
		t.Fatalf("InRelease: %v", err)
	}
	rel := readPublished(t, r, "Release")
	if string(plain) != rel && string(plain) != rel+"\n" {
		t.Errorf("InRelease text differs from Release")
	}
	if _, err := sign.VerifyDetached(kr, []byte(rel), []byte(readPublished(t, r, "Release.gpg"))); err != nil {
		t.Errorf("Release.gpg: %v", err)
	}
	for _, want := range []string{"Suite: " + testDist, "Codename: " + testDist, "Acquire-By-Hash: yes", "SHA512:", "main/binary-amd64/Packages.xz", "main/source/Sources.gz"} {
		if !strings.Contains(rel, want) {
			t.Errorf("Release lacks %q", want)
		}
	}
	// by-hash of the first generation's Packages is still reachable.
	m1, err := r.loadManifest(testDist, 1)
	if err != nil {
		t.Fatal(err)
	}
	old := m1.Files["main/binary-amd64/Packages.xz"].SHA512
	if _, err := os.Stat(filepath.Join(r.Root(), "dists", testDist, "main/binary-amd64/by-hash/SHA512", old)); err != nil {
		t.Errorf("old by-hash file: %v", err)
	}
}

func TestAddBadInputChangesNothing(t *testing.T) {
	r, _ := newTestRepo(t)
	ctx := context.Background()
	in := t.TempDir()
	good := writeTestDeb(t, in, "alpha", "1.0", "amd64", "")
	if _, err := r.Add(ctx, testDist, good); err != nil {
		t.Fatal(err)
	}
	before := readPublished(t, r, "Release")
	dsc := filepath.Join(in, "gamma_1.0-1.dsc")
	tarball := filepath.Join(in, "gamma_1.0.orig.tar.gz")
	os.WriteFile(tarball, []byte("not really a tarball"), 0o644)
	sum, _ := sumFile(tarball)
	os.WriteFile(dsc, []byte(fmt.Sprintf("Format: 3.0 (quilt)\nSource: gamma\nVersion: 1.0-1\nChecksums-Sha256:\n %s %d gamma_1.0.orig.tar.gz\nFiles:\n %s %d gamma_1.0.orig.tar.gz\n", sum.SHA256, sum.Size, sum.MD5, sum.Size)), 0o644)
	badSum := filepath.Join(in, "delta_1.0-1.dsc")
	os.WriteFile(badSum, []byte(fmt.Sprintf("Source: delta\nVersion: 1.0-1\nChecksums-Sha256:\n %s %d gamma_1.0.orig.tar.gz\nFiles:\n %s %d gamma_1.0.orig.tar.gz\n", strings.Repeat("0", 64), sum.Size, sum.MD5, sum.Size)), 0o644)
	tricky := filepath.Join(in, "eps_1.0-1.dsc")
	os.WriteFile(tricky, []byte(fmt.Sprintf("Source: eps\nVersion: 1.0-1\nChecksums-Sha256:\n %s %d ../../etc/passwd\nFiles:\n %s %d ../../etc/passwd\n", sum.SHA256, sum.Size, sum.MD5, sum.Size)), 0o644)
	conflict := filepath.Join(t.TempDir(), "alpha_1.0_amd64.deb")
	os.WriteFile(conflict, mustRead(t, writeTestDeb(t, t.TempDir(), "alpha", "1.0", "amd64", "Depends: other\n")), 0o644)
	tests := []struct {
		name  string
		dist  string
		files []string
		want  any
	}{
		{"unknown distribution", "sid-packyard-nope", []string{good}, new(*UnknownDistributionError)},
		{"missing file", testDist, []string{filepath.Join(in, "nope_1_amd64.deb")}, new(*FileError)},
		{"checksum mismatch", testDist, []string{badSum}, new(*ChecksumError)},
		{"path trick", testDist, []string{tricky}, new(*UnsafeNameError)},
		{"pool conflict", testDist, []string{conflict}, new(*ConflictError)},
		{"wrong architecture", testDist, []string{writeTestDeb(t, in, "zeta", "1", "arm64", "")}, new(*FileError)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Add(ctx, tc.dist, tc.files...)
			if err == nil {
				t.Fatalf("Add succeeded; want error")
			}
			if !errors.As(err, tc.want) {
				t.Errorf("Add error = %T %v; want %T", err, err, tc.want)
			}
			if errors.Is(err, ErrPublish) {
				t.Errorf("bad input reported as publish failure: %v", err)
			}
		})
	}
	if after := readPublished(t, r, "Release"); after != before {
		t.Errorf("Release changed after rejected input")
	}
	// A good .dsc is accepted and appears in Sources with the .dsc listed.
	if _, err := r.Add(ctx, testDist, dsc); err != nil {
		t.Fatal(err)
	}
	src := readPublished(t, r, "main/source/Sources")
	for _, want := range []string{"Package: gamma\n", "Directory: pool/main/g/gamma\n", " gamma_1.0-1.dsc\n", " gamma_1.0.orig.tar.gz"} {
		if !strings.Contains(src, want) {
			t.Errorf("Sources lacks %q:\n%s", want, src)
		}
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAptSourceLine(t *testing.T) {
	r, _ := newTestRepo(t)
	got := r.AptSourceLine(testDist)
	want := fmt.Sprintf("deb [signed-by=%s] file:%s %s main", r.cfg.WorkspaceDir().PublicKeyring(), r.Root(), testDist)
	if got != want {
		t.Errorf("AptSourceLine = %q; want %q", got, want)
	}
	if got := r.AptSourceLineURL("http://127.0.0.1:8066/repo/", testDist); !strings.Contains(got, " http://127.0.0.1:8066/repo "+testDist+" main") {
		t.Errorf("AptSourceLineURL = %q", got)
	}
}

// TestIncrementalIndexesMatchFullRebuild adds packages at the start, middle
// and end of a many-chunk index, so that publishes resume from checkpoints,
// and checks every file against Release with Check (which rehashes all,
// decompressing unpublished forms) and the package set through the xz form.
func TestIncrementalIndexesMatchFullRebuild(t *testing.T) {
	r, _ := newTestRepo(t)
	r.chunkTarget = 400
	r.plainLimit = 0
	ctx := context.Background()
	in := t.TempDir()
	var first []string
	for i := 0; i < 60; i++ {
		first = append(first, writeTestDeb(t, in, fmt.Sprintf("m%03d", i*2), "1.0", "amd64", ""))
	}
	if _, err := r.Add(ctx, testDist, first...); err != nil {
		t.Fatal(err)
	}
	want := 60
	for _, name := range []string{"a-first", "m051", "m101", "zz-last", "m000", "m119"} {
		res, err := r.Add(ctx, testDist, writeTestDeb(t, in, name, "2.0", "amd64", ""))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Replaced) == 0 {
			want++
		}
		if rep, err := r.Check(ctx); err != nil {
			t.Fatalf("after adding %s: %v %+v", name, err, rep.Problems)
		}
		list, err := r.List(ctx, testDist)
		if err != nil || len(list) != want {
			t.Fatalf("after adding %s: %d packages, %v; want %d", name, len(list), err, want)
		}
	}
	cks := r.loadCheckpoints(testDist, 7)
	if len(cks["main/binary-amd64/Packages.xz"]) == 0 {
		t.Errorf("no checkpoints recorded: %v", cks)
	}
}
