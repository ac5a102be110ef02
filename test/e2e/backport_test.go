//go:build integration

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/packyard/packyard/internal/config"
)

// TestBackport is issue 4's first proof: a real backport from trixie to
// bookworm that needs two other sources backported first is planned, built
// stage by stage, and its library installed with apt from packyard's
// repository alone in a fresh root filesystem.
func TestBackport(t *testing.T) {
	if os.Getenv("PACKYARD_E2E_BACKPORT") == "" {
		t.Skip("set PACKYARD_E2E_BACKPORT=1 to build the backport chain (about 15 minutes)")
	}
	dir := t.TempDir()
	h := newHarness(t, dir)
	h.mustRun("init", "--workspace", h.ws)
	cfg, err := config.Load(h.config)
	if err != nil {
		t.Fatal(err)
	}
	h.mustRun("refresh")
	binary, version := backport(t, h, cfg)
	line := strings.TrimSpace(h.mustRun("repo", "source-line", cfg.DistributionName(cfg.Build.Codename, cfg.Build.Suite)))
	root := freshRoot(t, dir, cfg)
	installOnly(t, root, h.ws, line, binary, version)
}

// installOnly adds packyard's repository as root's only source and
// installs binary, which must come at version.
func installOnly(t *testing.T, root, ws, line, binary, version string) {
	t.Helper()
	useOnlyRepo(t, root, ws, line)
	chroot := chrootRunner(t, root)
	chroot("apt-get", "update")
	chroot("apt-get", "install", "-y", "--no-install-recommends", binary)
	if got := chroot("dpkg-query", "-W", "-f=${Version}", binary); got != version {
		t.Errorf("%s installed at %q; want the backport %s", binary, got, version)
	}
	if out := chroot("sh", "-c", "ls /usr/lib/*/"+"lib"+backportTarget+".so.*"); !strings.Contains(out, filepath.Join("lib"+backportTarget+".so")) {
		t.Errorf("no shared library of %s installed: %s", backportTarget, out)
	}
}

// backportTarget is a trixie source whose bookworm backport needs two other
// sources (fmtlib, catch2) backported first, all of whose source packages
// the machine's mirror serves (issue 4's first proof).
const backportTarget = "spdlog"

// backportPlan is the JSON plan's shape that the test reads.
type backportPlan struct {
	Stages [][]struct {
		Source  string `json:"source"`
		Version string `json:"version"`
		Reason  string `json:"reason"`
	} `json:"stages"`
}

// backport adds trixie as a source archive, plans and builds the backport
// of backportTarget into bookworm stage by stage, and returns the runtime
// library binary it published and the target's version.
func backport(t *testing.T, h *harness, cfg *config.Config) (binary, version string) {
	t.Helper()
	var base *config.Archive
	for i := range cfg.Archives {
		for _, s := range cfg.Archives[i].Suites {
			if s == cfg.Build.Codename {
				base = &cfg.Archives[i]
			}
		}
	}
	if base == nil {
		t.Fatalf("no archive with suite %s in the config", cfg.Build.Codename)
	}
	trixie := *base
	trixie.Name, trixie.Suites = "trixie", []string{"trixie"}
	cfg.Archives = append(cfg.Archives, trixie)
	if err := cfg.Save(h.config); err != nil {
		t.Fatal(err)
	}
	h.mustRun("refresh", "--archive", "trixie")

	var pl backportPlan
	if err := json.Unmarshal([]byte(h.mustRun("--json", "plan", "--from", "trixie", backportTarget)), &pl); err != nil {
		t.Fatal(err)
	}
	stageOf := map[string]int{}
	deps := 0
	for i, st := range pl.Stages {
		for _, it := range st {
			stageOf[it.Source] = i
			if it.Reason == "build-dependency" {
				deps++
			}
			if it.Source == backportTarget {
				version = it.Version
			}
		}
	}
	if deps < 2 || version == "" {
		t.Fatalf("plan --from trixie %s = %+v; want the target after at least two backported build-dependencies", backportTarget, pl)
	}

	out := h.mustRun("build", "--from", "trixie", "-j", "2", backportTarget)
	built := regexp.MustCompile(`(?m)^built (\S+) \S+ and published`).FindAllStringSubmatch(out, -1)
	if len(built) != len(stageOf) {
		t.Errorf("built %d sources; want %d:\n%s", len(built), len(stageOf), out)
	}
	last := -1
	for _, m := range built {
		st, ok := stageOf[m[1]]
		if !ok {
			t.Errorf("built %s, which is not in the plan", m[1])
		}
		if st < last {
			t.Errorf("built %s (stage %d) after a source of stage %d", m[1], st+1, last+1)
		}
		last = st
	}

	dist := cfg.DistributionName(cfg.Build.Codename, cfg.Build.Suite)
	for _, line := range strings.Split(h.mustRun("repo", "list", dist), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.HasPrefix(f[0], "lib"+backportTarget) && !strings.HasSuffix(f[0], "-dev") && f[2] != "source" {
			binary = f[0]
		}
	}
	if binary == "" {
		t.Fatalf("no runtime library of %s in %s after the backport", backportTarget, dist)
	}
	return binary, version
}
