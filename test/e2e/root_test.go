//go:build integration

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packyard/packyard/internal/config"
)

// freshRoot makes a minimal Debian root filesystem (not a build
// environment) with mmdebstrap from the config's archives.
func freshRoot(t *testing.T, dir string, cfg *config.Config) string {
	t.Helper()
	root := filepath.Join(dir, "client-root")
	args := []string{"--variant=apt", "--quiet", cfg.Build.Codename, root}
	for _, a := range cfg.Archives {
		var suites []string
		for _, s := range a.Suites {
			if s == cfg.Build.Codename || strings.HasPrefix(s, cfg.Build.Codename+"-") {
				suites = append(suites, s)
			}
		}
		for _, s := range suites {
			args = append(args, "deb [signed-by="+a.SignedBy+"] "+a.URI+" "+s+" "+strings.Join(a.Components, " "))
		}
	}
	cmd := exec.Command("mmdebstrap", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mmdebstrap: %v\n%s", err, out)
	}
	return root
}

// installFromRepo adds packyard's repository to root with signed-by its
// key, runs apt-get update (no warnings allowed), installs hello and
// libcjson1, and runs hello.
func installFromRepo(t *testing.T, root, ws, line string) {
	t.Helper()
	useOnlyRepo(t, root, ws, line)
	chroot := chrootRunner(t, root)
	out := chroot("apt-get", "update")
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "W:") || strings.HasPrefix(l, "E:") || strings.HasPrefix(l, "Err:") {
			t.Errorf("apt-get update warned: %s\n%s", l, out)
		}
	}
	policy := chroot("apt-cache", "policy", "hello")
	if !strings.Contains(policy, filepath.Join(ws, "repo")) {
		t.Errorf("apt-cache policy hello does not list packyard's repository:\n%s", policy)
	}
	chroot("apt-get", "install", "-y", "--no-install-recommends", "hello", "libcjson1")
	if got := chroot("hello"); strings.TrimSpace(got) != "Hello, world!" {
		t.Errorf("hello printed %q; want Hello, world!", got)
	}
	st := chroot("dpkg-query", "-W", "-f=${Status} ${Version}", "libcjson1")
	if !strings.HasPrefix(st, "install ok installed") {
		t.Errorf("libcjson1 status %q; want installed", st)
	}
}

// chrootRunner runs commands in root and fails the test on error.
func chrootRunner(t *testing.T, root string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		cmd := exec.Command("chroot", append([]string{root}, args...)...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C.UTF-8"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("chroot %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
}

// useOnlyRepo presents the workspace's repository and key at the same paths
// inside root and makes packyard's repository root's only apt source, so
// what gets installed can only come from it.
func useOnlyRepo(t *testing.T, root, ws, line string) {
	t.Helper()
	for _, p := range []string{filepath.Join(ws, "repo"), filepath.Join(ws, "keys")} {
		dst := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if out, err := exec.Command("cp", "-a", p, dst).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v\n%s", err, out)
		}
	}
	// Only packyard's repository: what gets installed can only come from it
	// (hello and libcjson1 need nothing beyond the base system).
	os.Rename(filepath.Join(root, "etc/apt/sources.list"), filepath.Join(root, "etc/apt/sources.list.debian"))
	if err := os.WriteFile(filepath.Join(root, "etc/apt/sources.list.d/packyard.list"), []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	chroot0 := exec.Command("chroot", root, "apt-get", "clean")
	chroot0.Run()
	os.RemoveAll(filepath.Join(root, "var/lib/apt/lists"))
	os.MkdirAll(filepath.Join(root, "var/lib/apt/lists/partial"), 0o755)
}
