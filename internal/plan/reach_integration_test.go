//go:build integration

package plan_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/plan"
	"github.com/packyard/packyard/internal/plan/indexfile"
)

// TestIntegrationPrunedPlanEqualsFull plans real bookworm targets twice,
// compiling only what the targets can reach (the default) and compiling
// every package (Options.CompileAll), and wants the same text, JSON and dot
// output and the same error: hello, cjson and spdlog; bpfcc and devscripts,
// whose build-dependencies have alternatives and ":any" qualifiers;
// doxygen, gcc-11 and jquery, whose build-dependencies cannot be satisfied;
// a bootstrap of pytest with cycles and profile breaks; without
// --build-deps; and a backport of django-graphene from trixie.
func TestIntegrationPrunedPlanEqualsFull(t *testing.T) {
	dir := dataDir(t, "bookworm", "trixie")
	// The full plans read the indexes eagerly (NewBinaryPackage), the
	// pruned ones as the CLI does (IndexBinaryPackages).
	var eager, lazy [2]indexes
	eager[0].bins, eager[0].srcs = load(t, dir, "bookworm")
	eager[1].bins, eager[1].srcs = load(t, dir, "trixie")
	lazy[0] = loadLazy(t, dir, "bookworm")
	lazy[1] = loadLazy(t, dir, "trixie")
	local := func() []*plan.BinaryPackage {
		return []*plan.BinaryPackage{
			mustBin(t, "Package: libcjson1\nVersion: 1.7.15-1+local1\nArchitecture: amd64\nSource: cjson\nDepends: libc6 (>= 2.14)"),
			mustBin(t, "Package: libcjson-dev\nVersion: 1.7.15-1+local1\nArchitecture: amd64\nSource: cjson\nDepends: libcjson1 (= 1.7.15-1+local1)"),
		}
	}
	same := func(ix [2]indexes) plan.Input {
		return plan.Input{Arch: "amd64", Binaries: ix[0].bins, Local: local(),
			Archives: []plan.SourceArchive{{Name: "bookworm", Sources: ix[0].srcs, Binaries: ix[0].bins}}}
	}
	backport := func(ix [2]indexes) plan.Input {
		return plan.Input{Arch: "amd64", Binaries: ix[0].bins,
			Archives: []plan.SourceArchive{{Name: "trixie", Sources: ix[1].srcs, Binaries: ix[1].bins},
				{Name: "bookworm", Sources: ix[0].srcs, Binaries: ix[0].bins}}}
	}
	cases := []struct {
		name    string
		in      func([2]indexes) plan.Input
		opts    plan.Options
		targets []string
	}{
		{"hello", same, plan.Options{BuildDeps: true}, []string{"hello"}},
		{"cjson", same, plan.Options{BuildDeps: true}, []string{"cjson"}},
		{"cjson-skip-local", same, plan.Options{BuildDeps: true, SkipLocal: true}, []string{"cjson"}},
		{"spdlog", same, plan.Options{BuildDeps: true}, []string{"spdlog"}},
		{"alternatives", same, plan.Options{BuildDeps: true}, []string{"bpfcc", "devscripts"}},
		{"missing", same, plan.Options{BuildDeps: true}, []string{"doxygen", "gcc-11", "jquery"}},
		{"missing-no-build-deps", same, plan.Options{}, []string{"doxygen", "spdlog"}},
		{"bootstrap", same, plan.Options{BuildDeps: true, Bootstrap: true}, []string{"pytest", "python-iniconfig", "python-pluggy"}},
		{"bootstrap-nocheck", same, plan.Options{BuildDeps: true, Bootstrap: true, Profiles: []string{"nocheck"}},
			[]string{"pytest", "python-iniconfig", "python-pluggy"}},
		{"first-alternative", same, plan.Options{BuildDeps: true, FirstAlternative: true, DropIndep: true}, []string{"bpfcc"}},
		{"backport", backport, plan.Options{BuildDeps: true}, []string{"django-graphene"}},
		{"backport-spdlog", backport, plan.Options{BuildDeps: true}, []string{"spdlog", "hello"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var targets []plan.Target
			for _, n := range c.targets {
				targets = append(targets, plan.Target{Name: n})
			}
			full := c.opts
			full.CompileAll = true
			start := time.Now()
			want := renderPlan(t, plan.NewPlanner(c.in(eager), full), targets)
			mid := time.Now()
			got := renderPlan(t, plan.NewPlanner(c.in(lazy), c.opts), targets)
			t.Logf("%v: full %v, pruned %v", c.targets, mid.Sub(start), time.Since(mid))
			if got != want {
				t.Errorf("pruned plan of %v differs from the full plan\npruned:\n%s\nfull:\n%s", c.targets, got, want)
			}
		})
	}
}

// renderPlan plans targets and renders the plan as text, JSON and dot,
// followed by the error.
func renderPlan(t *testing.T, p *plan.Planner, targets []plan.Target) string {
	t.Helper()
	pl, err := p.Plan(targets)
	var buf bytes.Buffer
	if pl != nil {
		for _, w := range []func(*bytes.Buffer, *plan.Plan) error{
			func(b *bytes.Buffer, pl *plan.Plan) error { return plan.WriteText(b, pl) },
			func(b *bytes.Buffer, pl *plan.Plan) error { return plan.WriteJSON(b, pl) },
			func(b *bytes.Buffer, pl *plan.Plan) error { return plan.WriteDot(b, pl) },
		} {
			if err := w(&buf, pl); err != nil {
				t.Fatal(err)
			}
		}
	}
	fmt.Fprintf(&buf, "error: %v\n", err)
	return buf.String()
}

type indexes struct {
	bins []*plan.BinaryPackage
	srcs []*plan.SourcePackage
}

// loadLazy reads suite's Packages and Sources as the CLI does.
func loadLazy(t *testing.T, dir, suite string) indexes {
	t.Helper()
	var ix indexes
	var err error
	if ix.bins, err = indexfile.ReadIndexPackages(filepath.Join(dir, suite, "Packages")); err != nil {
		t.Fatal(err)
	}
	if ix.srcs, err = indexfile.ReadIndexSources(filepath.Join(dir, suite, "Sources")); err != nil {
		t.Fatal(err)
	}
	return ix
}

// TestIntegrationLazyCheckAllEqualsEager checks every bookworm source
// against packages read lazily (IndexBinaryPackages, IndexSourcePackages,
// as plan --check-all does) and eagerly, and wants the same report.
func TestIntegrationLazyCheckAllEqualsEager(t *testing.T) {
	dir := dataDir(t, "bookworm")
	bins, srcs := load(t, dir, "bookworm")
	want := plan.NewUniverse("amd64", bins).CheckAll(srcs, plan.CheckOptions{})
	lazy := loadLazy(t, dir, "bookworm")
	got := plan.NewUniverse("amd64", lazy.bins).CheckAll(lazy.srcs, plan.CheckOptions{})
	if got.Checked != want.Checked || !reflect.DeepEqual(got.Results, want.Results) {
		t.Errorf("lazy CheckAll: %d checked, %d broken; want %d, %d (eager)", got.Checked, got.Broken, want.Checked, want.Broken)
	}
}
