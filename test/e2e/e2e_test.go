//go:build integration

package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/packyard/packyard/internal/config"
)

// harness runs the packyard binary against one config and workspace.
type harness struct {
	t      *testing.T
	bin    string
	config string
	ws     string
	env    []string
}

func newHarness(t *testing.T, dir string) *harness {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("end-to-end tests need root")
	}
	bin := filepath.Join(dir, "packyard")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/packyard").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	h := &harness{t: t, bin: bin, config: filepath.Join(dir, "config.yaml"), ws: filepath.Join(dir, "ws")}
	h.env = append(os.Environ(), "PACKYARD_CONFIG="+h.config)
	return h
}

// run runs packyard with args and returns stdout, stderr and the exit code.
func (h *harness) run(args ...string) (string, string, int) {
	h.t.Helper()
	cmd := exec.Command(h.bin, args...)
	cmd.Env = h.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatalf("running packyard: %v", err)
	}
	return stdout.String(), stderr.String(), code
}

func (h *harness) mustRun(args ...string) string {
	h.t.Helper()
	out, errOut, code := h.run(args...)
	if code != 0 {
		h.t.Fatalf("packyard %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// TestBuildPublishInstall is issue 2's proof: build hello and cjson (cmake)
// from the Debian archive, then install both with apt-get from packyard's
// signed repository in a fresh root filesystem.
func TestBuildPublishInstall(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, dir)
	h.mustRun("init", "--workspace", h.ws)
	cfg, err := config.Load(h.config)
	if err != nil {
		t.Fatal(err)
	}
	// Idempotent init: same key, same config.
	before, _ := os.ReadFile(h.config)
	out := h.mustRun("init")
	if !strings.Contains(out, "exists; kept") {
		t.Errorf("second init output = %q; want the key kept", out)
	}
	after, _ := os.ReadFile(h.config)
	if !bytes.Equal(before, after) {
		t.Errorf("second init changed the config")
	}
	h.mustRun("refresh")

	out = h.mustRun("build", "hello")
	line := aptLine(t, out)
	t.Logf("apt line: %s", line)
	checkRunRecord(t, h.ws, "build", "hello_")
	h.mustRun("build", "cjson")

	root := freshRoot(t, dir, cfg)
	installFromRepo(t, root, h.ws, line)

	t.Run("admin commands", func(t *testing.T) {
		out := h.mustRun("env", "list")
		if !strings.Contains(out, cfg.Build.Codename+"-"+cfg.Build.Architecture+"-buildd") || !strings.Contains(out, "ok") {
			t.Errorf("env list = %q; want the build environment, ok", out)
		}
		if out := h.mustRun("env", "shell", "--", "cat", "/etc/debian_version"); !strings.HasPrefix(out, "12.") {
			t.Errorf("env shell cat /etc/debian_version = %q; want 12.x", out)
		}
		dist := cfg.DistributionName(cfg.Build.Codename, cfg.Build.Suite)
		out = h.mustRun("repo", "list", dist)
		for _, want := range []string{"hello", "libcjson1", "source"} {
			if !strings.Contains(out, want) {
				t.Errorf("repo list %s lacks %s:\n%s", dist, want, out)
			}
		}
		if out := h.mustRun("repo", "check"); !strings.Contains(out, ": 0 problems") {
			t.Errorf("repo check = %q; want 0 problems", out)
		}
		if out := h.mustRun("pantry"); !strings.Contains(out, "ok") {
			t.Errorf("pantry = %q", out)
		}
		if out := h.mustRun("plan", "hello"); !strings.Contains(out, "stage 1") {
			t.Errorf("plan hello = %q; want a stage", out)
		}
	})
	t.Run("source only in packyard's repository", func(t *testing.T) {
		// A source uploaded to packyard's repository (not in any archive)
		// is built by name: planned from the local Sources, its .dsc taken
		// from the pool after checking it against that index.
		tree := nativeTree(t, dir, "localonly", "")
		// dpkg-source -b writes the .dsc and tarball into its working directory.
		cmd := exec.Command("dpkg-source", "-b", filepath.Base(tree))
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("dpkg-source -b: %v\n%s", err, out)
		}
		dist := cfg.DistributionName(cfg.Build.Codename, cfg.Build.Suite)
		h.mustRun("repo", "add", dist, filepath.Join(dir, "localonly_1.0.dsc"))
		out := h.mustRun("build", "localonly")
		if !strings.Contains(out, "from packyard's repository") {
			t.Errorf("build localonly output = %q; want the source taken from packyard's repository", out)
		}
		if !regexp.MustCompile(`(?m)^.*localonly.*\ball\b.*$`).MatchString(h.mustRun("repo", "list", dist)) {
			t.Errorf("repo list %s has no Architecture: all localonly binary", dist)
		}
		// Building the same version again gives the same .deb (the package
		// is reproducible): nothing new is published, and it is no error.
		inRelease := filepath.Join(h.ws, "repo", "dists", dist, "InRelease")
		before, _ := os.ReadFile(inRelease)
		if out := h.mustRun("build", "localonly"); !strings.Contains(out, "already published") {
			t.Errorf("rebuild output = %q; want already published", out)
		}
		if after, _ := os.ReadFile(inRelease); len(before) == 0 || !bytes.Equal(after, before) {
			t.Errorf("a rebuild with the same files published a new generation of %s", dist)
		}
	})
	t.Run("unknown source", func(t *testing.T) {
		_, errOut, code := h.run("build", "no-such-source-package-xyz")
		if code != 9 {
			t.Errorf("exit = %d; want 9\n%s", code, errOut)
		}
		if !strings.Contains(errOut, "no-such-source-package-xyz") {
			t.Errorf("stderr = %q; want it to name the package", errOut)
		}
	})
	t.Run("architecture without indexes", func(t *testing.T) {
		_, errOut, code := h.run("build", "--arch", "s390x", "hello")
		if code != 2 {
			t.Errorf("exit = %d; want 2\n%s", code, errOut)
		}
		if !strings.Contains(errOut, "architecture s390x") || !strings.Contains(errOut, "refresh") {
			t.Errorf("stderr = %q; want it to name s390x and say to add it and refresh", errOut)
		}
	})
	t.Run("dsc with wrong hash", func(t *testing.T) {
		src := filepath.Join(h.ws, "sources", "hello")
		bad := filepath.Join(dir, "bad")
		copyDir(t, src, bad)
		tars, _ := filepath.Glob(filepath.Join(bad, "*", "*.debian.tar.*"))
		if len(tars) == 0 {
			t.Fatal("no hello debian tarball fetched")
		}
		f, _ := os.OpenFile(tars[0], os.O_WRONLY|os.O_APPEND, 0)
		f.Write([]byte("x"))
		f.Close()
		dscs, _ := filepath.Glob(filepath.Join(bad, "*", "*.dsc"))
		before := repoState(t, h.ws)
		_, errOut, code := h.run("build", dscs[0])
		if code != 4 {
			t.Errorf("exit = %d; want 4\n%s", code, errOut)
		}
		if !strings.Contains(errOut, filepath.Base(tars[0])) {
			t.Errorf("stderr = %q; want it to name %s", errOut, filepath.Base(tars[0]))
		}
		if after := repoState(t, h.ws); after != before {
			t.Errorf("repository changed by a rejected build")
		}
	})
	t.Run("tree without debian", func(t *testing.T) {
		tree := filepath.Join(dir, "nodebian")
		os.MkdirAll(tree, 0o755)
		os.WriteFile(filepath.Join(tree, "README"), []byte("hi\n"), 0o644)
		_, errOut, code := h.run("build", tree)
		if code != 2 {
			t.Errorf("exit = %d; want 2\n%s", code, errOut)
		}
		if !strings.Contains(errOut, "debian") {
			t.Errorf("stderr = %q; want it to mention debian/", errOut)
		}
	})
	t.Run("failing build", func(t *testing.T) {
		tree := failingTree(t, dir)
		before := repoState(t, h.ws)
		out, errOut, code := h.run("build", tree)
		if code != 10 {
			t.Errorf("exit = %d; want 10\n%s\n%s", code, out, errOut)
		}
		if !strings.Contains(out+errOut, "build.log") {
			t.Errorf("output does not give the log path:\n%s\n%s", out, errOut)
		}
		if after := repoState(t, h.ws); after != before {
			t.Errorf("repository changed by a failed build")
		}
	})
	t.Run("missing host tool", func(t *testing.T) {
		cmd := exec.Command(h.bin, "build", "hello")
		empty := t.TempDir()
		cmd.Env = append(h.env, "PATH="+empty)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 7 {
			t.Errorf("exit = %v; want 7\n%s", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "apt-get install") {
			t.Errorf("stderr = %q; want the Debian package to install", stderr.String())
		}
	})
}

var aptLineRe = regexp.MustCompile(`(?m)^deb \[signed-by=[^\]]+\] \S+ \S+ .+$`)

func aptLine(t *testing.T, out string) string {
	t.Helper()
	line := aptLineRe.FindString(out)
	if line == "" {
		t.Fatalf("build output has no apt sources line:\n%s", out)
	}
	return line
}

// checkRunRecord checks the newest run record of command.
func checkRunRecord(t *testing.T, ws, command, artifactPrefix string) {
	t.Helper()
	runs, _ := filepath.Glob(filepath.Join(ws, "runs", "*-"+command+"-*"))
	if len(runs) == 0 {
		t.Fatalf("no %s run record", command)
	}
	dir := runs[len(runs)-1]
	var s struct {
		Command  string `json:"command"`
		Status   string `json:"status"`
		ExitCode int    `json:"exit_code"`
	}
	readJSON(t, filepath.Join(dir, "summary.json"), &s)
	if s.Command != command || s.Status != "ok" || s.ExitCode != 0 {
		t.Errorf("summary.json = %+v; want command %s, ok, exit 0", s, command)
	}
	var a struct {
		Command   []string `json:"command"`
		Artifacts []struct {
			Name   string `json:"name"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		} `json:"artifacts"`
	}
	readJSON(t, filepath.Join(dir, "artifacts.json"), &a)
	found := false
	for _, f := range a.Artifacts {
		if strings.HasPrefix(f.Name, artifactPrefix) && strings.HasSuffix(f.Name, ".deb") && f.Size > 0 && len(f.SHA256) == 64 {
			found = true
		}
	}
	if !found || len(a.Command) == 0 {
		t.Errorf("artifacts.json lacks the builder command or a %s*.deb with size and sha256: %+v", artifactPrefix, a)
	}
	ev, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
	if err != nil || !bytes.Contains(ev, []byte(`"publish.done"`)) {
		t.Errorf("events.jsonl lacks publish.done (err %v)", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "logs", "build.log")); err != nil || fi.Size() == 0 {
		t.Errorf("logs/build.log missing or empty: %v", err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// repoState fingerprints the published repository: every file's path and size.
func repoState(t *testing.T, ws string) string {
	t.Helper()
	var b strings.Builder
	root := filepath.Join(ws, "repo")
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			target, _ := os.Readlink(p)
			b.WriteString(p + " " + target + " " + fi.ModTime().String() + "\n")
		}
		return nil
	})
	return b.String()
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
}

// failingTree writes a native source package whose build fails.
func failingTree(t *testing.T, dir string) string {
	return nativeTree(t, dir, "failpkg", "override_dh_auto_build:\n\techo deliberate failure; exit 1\n")
}

// nativeTree writes a 3.0 (native) source package NAME 1.0 with one
// Architecture: all binary package; rules is added to debian/rules after
// the dh catch-all.
func nativeTree(t *testing.T, dir, name, rules string) string {
	t.Helper()
	tree := filepath.Join(dir, name)
	files := map[string]string{
		"debian/control":       "Source: " + name + "\nSection: misc\nPriority: optional\nMaintainer: T <t@example.invalid>\nBuild-Depends: debhelper-compat (= 13)\nStandards-Version: 4.6.2\n\nPackage: " + name + "\nArchitecture: all\nDescription: packyard test package\n A package of packyard's end-to-end tests.\n",
		"debian/changelog":     name + " (1.0) unstable; urgency=medium\n\n  * Test.\n\n -- T <t@example.invalid>  Mon, 01 Jan 2024 00:00:00 +0000\n",
		"debian/rules":         "#!/usr/bin/make -f\n%:\n\tdh $@\n" + rules,
		"debian/source/format": "3.0 (native)\n",
	}
	for name, content := range files {
		p := filepath.Join(tree, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		mode := os.FileMode(0o644)
		if name == "debian/rules" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return tree
}
