//go:build integration

// Tests here are issue 3's proof of offline builds: prime hello
// and cjson online, then build both with --offline inside a network
// namespace that has only loopback, and install the results with apt-get;
// and, with one needed .deb removed from the package cache, the offline
// build fails before any build starts, naming that file, with exit code 5
// and nothing built or published. Both tests share one primed workspace.

package offline

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// targets are primed and built offline: hello (debhelper only) and cjson
// (cmake besides), so the cache must hold two different closures.
var targets = []string{"hello", "cjson"}

var (
	baseDir   string
	setupOnce sync.Once
	setupErr  error
	shared    *harness
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "packyard-offline-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	baseDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// harness runs the packyard binary against one config and workspace.
type harness struct {
	bin, config, ws string
	env             []string
}

// result is one packyard run.
type result struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

// run runs packyard with args, inside a new network namespace with only
// loopback when isolated.
func (h *harness) run(t *testing.T, isolated bool, args ...string) result {
	t.Helper()
	argv := append([]string{h.bin}, args...)
	if isolated {
		// unshare gives packyard (and every process it starts) a network
		// namespace of its own, in which nothing but loopback exists.
		argv = append([]string{"unshare", "--net", "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = h.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", strings.Join(argv, " "), err)
	}
	t.Logf("packyard %s (isolated=%t): exit %d in %s", strings.Join(args, " "), isolated, res.code, res.elapsed.Round(time.Second))
	return res
}

func (h *harness) mustRun(t *testing.T, isolated bool, args ...string) result {
	t.Helper()
	res := h.run(t, isolated, args...)
	if res.code != 0 {
		t.Fatalf("packyard %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
	}
	return res
}

// primed returns the shared workspace after init and prime of targets
// (online), done once for all tests.
func primed(t *testing.T) *harness {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("offline build tests need root")
	}
	for _, tool := range []string{"unshare", "ip", "bwrap", "mmdebstrap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	setupOnce.Do(func() { shared, setupErr = setup(t) })
	if setupErr != nil {
		t.Fatalf("priming the shared workspace: %v", setupErr)
	}
	return shared
}

func setup(t *testing.T) (*harness, error) {
	bin := filepath.Join(baseDir, "packyard")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/packyard").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	h := &harness{bin: bin, config: filepath.Join(baseDir, "config.yaml"), ws: filepath.Join(baseDir, "ws")}
	h.env = append(os.Environ(), "PACKYARD_CONFIG="+h.config)
	if res := h.run(t, false, "init", "--workspace", h.ws); res.code != 0 {
		return nil, fmt.Errorf("init: exit %d\n%s", res.code, res.stderr)
	}
	res := h.run(t, false, append([]string{"prime"}, targets...)...)
	if res.code != 0 {
		return nil, fmt.Errorf("prime: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	t.Logf("prime output:\n%s", res.stdout)
	// A second prime finds everything in place and fetches nothing.
	res = h.run(t, false, append([]string{"--json", "prime"}, targets...)...)
	var rep struct {
		Packages, Cached, Fetched int
	}
	if res.code != 0 || json.Unmarshal([]byte(res.stdout), &rep) != nil {
		return nil, fmt.Errorf("second prime: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if rep.Fetched != 0 || rep.Cached != rep.Packages || rep.Packages == 0 {
		return nil, fmt.Errorf("second prime: %d packages, %d cached, %d fetched; want all cached, none fetched", rep.Packages, rep.Cached, rep.Fetched)
	}
	return h, nil
}

func (h *harness) envDir() string {
	dirs, _ := filepath.Glob(filepath.Join(h.ws, "envs", "*-buildd"))
	if len(dirs) != 1 {
		return ""
	}
	return dirs[0]
}

// TestOfflineMissingDebFailsEarly removes one .deb that only cjson's
// build-dependencies need and checks that the offline build stops in its
// pre-flight: exit 5, the file named with the command that fetches it, no
// build started, the repository unchanged.
func TestOfflineMissingDebFailsEarly(t *testing.T) {
	h := primed(t)
	env := h.envDir()
	if env == "" {
		t.Fatal("no build environment after prime")
	}
	// A kept build-dependency layer would make the .deb unnecessary (the
	// build installs nothing): hide the layers so the .deb is needed.
	layers := filepath.Join(env, "layers")
	if err := os.Rename(layers, layers+".hidden"); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Rename(layers+".hidden", layers) })
	names := filepath.Join(h.ws, "cache", "debs", "by-name")
	victims, _ := filepath.Glob(filepath.Join(names, "cmake_*.deb"))
	if len(victims) != 1 {
		t.Fatalf("cache holds %d cmake .debs; want 1 (prime should have fetched cjson's build-dependencies)", len(victims))
	}
	victim := victims[0]
	aside := filepath.Join(baseDir, filepath.Base(victim))
	if err := os.Rename(victim, aside); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Rename(aside, victim) })
	before := published(t, h.ws)

	res := h.run(t, true, append([]string{"build", "--offline"}, targets...)...)
	if res.code != 5 {
		t.Fatalf("offline build without %s: exit %d; want 5\nstdout:\n%s\nstderr:\n%s", filepath.Base(victim), res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stderr, victim) {
		t.Errorf("stderr does not name the missing file %s:\n%s", victim, res.stderr)
	}
	if want := "packyard prime " + strings.Join(targets, " "); !strings.Contains(res.stderr, want) {
		t.Errorf("stderr does not give the command %q:\n%s", want, res.stderr)
	}
	if n := strings.Count(res.stderr, "\n  "); n != 1 {
		t.Errorf("stderr lists %d missing items; want exactly 1:\n%s", n, res.stderr)
	}
	if after := published(t, h.ws); after != before {
		t.Errorf("repository changed by a failed offline build")
	}
	events := runEvents(t, h.ws, "build")
	for _, typ := range []string{"build.start", "build.session", "publish.done", "env.ready"} {
		if events[typ] > 0 {
			t.Errorf("event %s happened %d times; want none before a failed pre-flight", typ, events[typ])
		}
	}
	if events["offline.missing"] != 1 {
		t.Errorf("offline.missing events = %d; want 1", events["offline.missing"])
	}
}

// TestOfflineBuildInstall builds both targets offline in a network
// namespace with only loopback, then installs them with apt-get from
// packyard's signed repository in a root made from the build environment,
// also without network.
func TestOfflineBuildInstall(t *testing.T) {
	h := primed(t)
	res := h.mustRun(t, true, append([]string{"build", "--offline"}, targets...)...)
	if !strings.Contains(res.stdout, "offline check passed") {
		t.Errorf("stdout does not report the offline check:\n%s", res.stdout)
	}
	events := runEvents(t, h.ws, "build")
	if events["publish.done"] != len(targets) {
		t.Errorf("publish.done events = %d; want %d", events["publish.done"], len(targets))
	}
	// The build-dependencies came from the cache, by apt-get --no-download.
	logs, _ := filepath.Glob(filepath.Join(lastRun(t, h.ws, "build"), "logs", "build-*.log"))
	installed := 0
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		if bytes.Contains(data, []byte("apt-get build-dep --no-download")) {
			installed++
		}
	}
	t.Logf("%d of %d builds installed build-dependencies from the cache (the others reused a kept layer)", installed, len(logs))
	dist := ""
	for _, l := range strings.Split(res.stdout, "\n") {
		if strings.HasPrefix(l, "deb [signed-by=") {
			dist = strings.Fields(l)[3]
		}
	}
	if dist == "" {
		t.Fatalf("build printed no apt source line:\n%s", res.stdout)
	}
	installOffline(t, h, dist)
}

// installOffline installs hello and libcjson1 from packyard's repository
// only (signed-by its key) with apt-get in a throw-away overlay over the
// build environment's root, in a network namespace with only loopback,
// and runs hello.
func installOffline(t *testing.T, h *harness, dist string) {
	t.Helper()
	dir := t.TempDir()
	script := fmt.Sprintf(`set -e
M=%[1]s/merged
mkdir -p %[1]s/upper %[1]s/work $M
mount -t overlay overlay -o lowerdir=%[2]s/root,upperdir=%[1]s/upper,workdir=%[1]s/work $M
cp -a %[3]s/repo $M/srv/repo
cp %[3]s/keys/packyard.gpg $M/etc/apt/keyrings/packyard.gpg
echo "deb [signed-by=/etc/apt/keyrings/packyard.gpg] file:/srv/repo %[4]s main" > $M/etc/apt/sources.list.d/packyard.list
exec bwrap --bind $M / --proc /proc --dev /dev --unshare-net --unshare-pid --die-with-parent --clearenv \
  --setenv PATH /usr/sbin:/usr/bin:/sbin:/bin --setenv DEBIAN_FRONTEND noninteractive --setenv LC_ALL C.UTF-8 -- sh -ec '
O="-o Dir::Etc::SourceList=sources.list.d/packyard.list -o Dir::Etc::SourceParts=-"
apt-get update $O --error-on=any
apt-get install $O --yes --no-install-recommends hello libcjson1
echo "HELLO: $(hello)"
dpkg-query -W -f="STATUS \${Package} \${Status} \${Version}\n" hello libcjson1
'`, dir, h.envDir(), h.ws, dist)
	cmd := exec.CommandContext(context.Background(), "unshare", "--net", "--mount", "--propagation", "private", "--", "sh", "-c", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("installing from packyard's repository: %v\n%s", err, out)
	}
	text := string(out)
	if !strings.Contains(text, "HELLO: Hello, world!") {
		t.Errorf("hello did not greet:\n%s", text)
	}
	for _, p := range []string{"hello", "libcjson1"} {
		if !regexpLine(text, "STATUS "+p+" install ok installed ") {
			t.Errorf("%s not installed:\n%s", p, text)
		}
	}
}

func regexpLine(text, prefix string) bool {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			return true
		}
	}
	return false
}

// lastRun returns the newest run record directory of command.
func lastRun(t *testing.T, ws, command string) string {
	t.Helper()
	runs, _ := filepath.Glob(filepath.Join(ws, "runs", "*-"+command+"-*"))
	if len(runs) == 0 {
		t.Fatalf("no %s run record", command)
	}
	return runs[len(runs)-1]
}

// runEvents counts the event types of the newest run of command.
func runEvents(t *testing.T, ws, command string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(lastRun(t, ws, command), "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		var ev struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(line, &ev) == nil && ev.Type != "" {
			counts[ev.Type]++
		}
	}
	return counts
}

// published is the state of what packyard's repository publishes: its
// dists/ and pool/ trees (opening the repository may write bookkeeping
// files of its own elsewhere).
func published(t *testing.T, ws string) string {
	return treeState(t, filepath.Join(ws, "repo", "dists")) + treeState(t, filepath.Join(ws, "repo", "pool"))
}

// treeState hashes the names and contents of every file and symlink below
// root ("" for a missing root or one without files).
func treeState(t *testing.T, root string) string {
	t.Helper()
	h := sha256.New()
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// Opening the repository creates its (empty) directories.
			return nil
		}
		files++
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(h, "%s %v\n", rel, d.Type())
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			fmt.Fprintf(h, "-> %s\n", l)
		}
		return nil
	})
	if os.IsNotExist(err) || err == nil && files == 0 {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
