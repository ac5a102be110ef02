//go:build integration

package plan_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"pault.ag/go/debian/dependency"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/plan"
	"github.com/packyard/packyard/internal/plan/indexfile"
	"github.com/packyard/packyard/internal/run"
)

// Integration tests run on real Debian indexes in $PACKYARD_PLAN_DATA
// (SUITE/Packages and SUITE/Sources for bookworm and trixie, as written by
// bench/plan/fetch-data.sh); they skip when it is unset.
func dataDir(t *testing.T, suites ...string) string {
	t.Helper()
	dir := os.Getenv("PACKYARD_PLAN_DATA")
	if dir == "" {
		t.Skip("PACKYARD_PLAN_DATA not set (run bench/plan/fetch-data.sh DIR and export it)")
	}
	for _, s := range suites {
		for _, f := range []string{"Packages", "Sources"} {
			if _, err := os.Stat(filepath.Join(dir, s, f)); err != nil {
				t.Skipf("missing %s/%s in %s", s, f, dir)
			}
		}
	}
	return dir
}

func load(t *testing.T, dir, suite string) ([]*plan.BinaryPackage, []*plan.SourcePackage) {
	t.Helper()
	bins, err := indexfile.ReadPackages(filepath.Join(dir, suite, "Packages"))
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := indexfile.ReadSources(filepath.Join(dir, suite, "Sources"))
	if err != nil {
		t.Fatal(err)
	}
	return bins, srcs
}

// TestIntegrationCheckAllAgreesWithDose runs dose-builddebcheck and
// CheckAll on main amd64 of bookworm (and trixie when present) and compares
// the unsatisfiable sources.
func TestIntegrationCheckAllAgreesWithDose(t *testing.T) {
	dir := dataDir(t, "bookworm")
	if err := run.Require("dose-builddebcheck"); err != nil {
		t.Skip(err)
	}
	for _, suite := range []string{"bookworm", "trixie"} {
		t.Run(suite, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(dir, suite, "Sources")); err != nil {
				t.Skipf("no %s indexes", suite)
			}
			checkAgainstDose(t, dir, suite)
		})
	}
}

func checkAgainstDose(t *testing.T, dir, suite string) {
	pkgs, srcsPath := filepath.Join(dir, suite, "Packages"), filepath.Join(dir, suite, "Sources")
	var out bytes.Buffer
	start := time.Now()
	err := run.New(slog.New(slog.DiscardHandler)).Run(context.Background(), run.Cmd{
		Args:   []string{"dose-builddebcheck", "--deb-native-arch=amd64", "-f", pkgs, srcsPath},
		Stdout: &out,
	})
	var re *run.Error
	if err != nil && !(errors.As(err, &re) && re.ExitCode == 1) {
		t.Fatalf("dose-builddebcheck: %v", err)
	}
	doseTime := time.Since(start)
	want := doseBroken(t, out.Bytes())

	start = time.Now()
	bins, srcs := load(t, dir, suite)
	rep := plan.NewUniverse("amd64", bins).CheckAll(srcs, plan.CheckOptions{})
	ourTime := time.Since(start)
	var got []string
	for _, r := range rep.Results {
		if !r.Satisfiable {
			got = append(got, r.Source+" "+r.Version)
			t.Logf("%s %s: %s", r.Source, r.Version, r.Reasons[0])
		}
	}
	sort.Strings(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CheckAll broken = %v\ndose broken = %v", got, want)
	}
	if n := doseChecked(t, out.Bytes()); rep.Checked != n {
		t.Errorf("CheckAll checked %d sources; dose checked %d", rep.Checked, n)
	}
	t.Logf("%d sources, %d broken; dose %v, CheckAll (with loading) %v: %.1fx", rep.Checked, len(got), doseTime, ourTime, doseTime.Seconds()/ourTime.Seconds())
}

// doseBroken reads "name version" of every broken source from
// dose-builddebcheck -f output (YAML).
func doseBroken(t *testing.T, out []byte) []string {
	var broken []string
	var name string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "  package: "):
			name = strings.TrimPrefix(line, "  package: ")
		case strings.HasPrefix(line, "  version: ") && name != "":
			broken = append(broken, name+" "+strings.TrimPrefix(line, "  version: "))
			name = ""
		}
	}
	sort.Strings(broken)
	return broken
}

func doseChecked(t *testing.T, out []byte) int {
	for _, line := range strings.Split(string(out), "\n") {
		if n, ok := strings.CutPrefix(line, "source-packages: "); ok {
			var v int
			for _, c := range n {
				v = v*10 + int(c-'0')
			}
			return v
		}
	}
	t.Fatal("no source-packages line in dose output")
	return 0
}

// TestIntegrationCycle plans pytest with two of its build-dependencies as
// if none had been built yet: python-iniconfig needs python3-pytest for its
// tests, whose binary needs python3-iniconfig; building python-iniconfig
// with the nocheck profile breaks the cycle.
func TestIntegrationCycle(t *testing.T) {
	dir := dataDir(t, "bookworm")
	bins, srcs := load(t, dir, "bookworm")
	p := plan.NewPlanner(plan.Input{Arch: "amd64", Binaries: bins,
		Archives: []plan.SourceArchive{{Name: "bookworm", Sources: srcs, Binaries: bins}}},
		plan.Options{BuildDeps: true, Bootstrap: true})
	pl, err := p.Plan([]plan.Target{{Name: "pytest"}, {Name: "python-iniconfig"}, {Name: "python-pluggy"}})
	var ce *plan.CycleError
	if !errors.As(err, &ce) || !errors.Is(err, plan.ErrCycle) {
		t.Fatalf("Plan error = %v; want a *CycleError", err)
	}
	var buf bytes.Buffer
	plan.WriteText(&buf, pl)
	t.Logf("plan:\n%s", buf.String())
	found := false
	for _, c := range ce.Cycles {
		s := c.String()
		if strings.HasPrefix(s, "python-iniconfig ") && strings.Contains(s, "python3-pytest") {
			found = true
			if len(c.Breaks) == 0 || c.Breaks[0].Profile != "nocheck" {
				t.Errorf("cycle %q: want a nocheck profile break", s)
			}
		}
	}
	if !found {
		t.Errorf("no cycle through python-iniconfig and python3-pytest in %v", ce.Cycles)
	}
}

// TestIntegrationBackport plans a trixie source for bookworm that needs
// other sources backported first, and checks single-target planning time.
func TestIntegrationBackport(t *testing.T) {
	dir := dataDir(t, "bookworm", "trixie")
	bins, _ := load(t, dir, "bookworm")
	tbins, tsrcs := load(t, dir, "trixie")
	p := plan.NewPlanner(plan.Input{Arch: "amd64", Binaries: bins,
		Archives: []plan.SourceArchive{{Name: "trixie", Sources: tsrcs, Binaries: tbins}}},
		plan.Options{BuildDeps: true})
	start := time.Now()
	pl, err := p.Plan([]plan.Target{{Name: "django-graphene"}})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("Plan(django-graphene) error %v", err)
	}
	var buf bytes.Buffer
	plan.WriteText(&buf, pl)
	t.Logf("planned in %v:\n%s", elapsed, buf.String())
	if len(pl.Items) < 3 || len(pl.Stages) < 3 {
		t.Errorf("Plan(django-graphene) = %d items in %d stages; want at least 2 backports first", len(pl.Items), len(pl.Stages))
	}
	last := pl.Stages[len(pl.Stages)-1]
	if len(last) != 1 || last[0].Source != "django-graphene" || last[0].Reason != "target" {
		t.Errorf("last stage = %v; want the target alone", last)
	}
}

// TestIntegrationParserMatchesPaultag parses every relation field of the
// bookworm and trixie indexes with ParseDependency and with
// pault.ag/go/debian/dependency.Parse and compares the results.
func TestIntegrationParserMatchesPaultag(t *testing.T) {
	dir := dataDir(t, "bookworm")
	fields := map[string][]string{
		"Packages": {"Depends", "Pre-Depends", "Conflicts", "Breaks", "Provides"},
		"Sources":  {"Build-Depends", "Build-Depends-Arch", "Build-Depends-Indep", "Build-Conflicts", "Build-Conflicts-Arch", "Build-Conflicts-Indep"},
	}
	n := 0
	for _, suite := range []string{"bookworm", "trixie"} {
		for file, names := range fields {
			paras, err := archive.LoadAnyIndexFile(filepath.Join(dir, suite, file))
			if err != nil {
				t.Skip(err)
			}
			for _, s := range paras {
				for _, f := range names {
					v := s.Get(f)
					if v == "" {
						continue
					}
					n++
					ours, err1 := plan.ParseDependency(v)
					theirs, err2 := dependency.Parse(v)
					if (err1 != nil) != (err2 != nil) {
						t.Errorf("%s %s %q: ParseDependency error %v, paultag error %v", s.Get("Package"), f, v, err1, err2)
						continue
					}
					if err1 == nil && !sameDependency(ours, theirs) {
						t.Errorf("%s %s %q: ParseDependency = %v; paultag = %v", s.Get("Package"), f, v, ours, theirs)
					}
				}
			}
		}
	}
	t.Logf("compared %d fields", n)
}

func sameDependency(a plan.Dependency, b *dependency.Dependency) bool {
	if len(a.Relations) != len(b.Relations) {
		return false
	}
	for i, r := range a.Relations {
		br := b.Relations[i]
		if len(r.Possibilities) != len(br.Possibilities) {
			return false
		}
		for j, p := range r.Possibilities {
			q := br.Possibilities[j]
			if p.Name != q.Name {
				return false
			}
			if (p.Operator == "") != (q.Version == nil) {
				return false
			}
			if q.Version != nil && (p.Operator != q.Version.Operator || p.Version != strings.TrimSpace(q.Version.Number)) {
				return false
			}
			if (p.Arch != "") != (q.Arch != nil) {
				return false
			}
			if len(p.Architectures) != len(q.Architectures.Architectures) || (len(p.Architectures) > 0 && p.ArchNot != q.Architectures.Not) {
				return false
			}
			if len(p.Profiles) != len(q.StageSets) {
				return false
			}
			for k, set := range p.Profiles {
				if len(set) != len(q.StageSets[k].Stages) {
					return false
				}
				for l, term := range set {
					st := q.StageSets[k].Stages[l]
					if term.Name != st.Name || term.Not != st.Not {
						return false
					}
				}
			}
		}
	}
	return true
}
