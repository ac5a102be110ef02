//go:build integration

package plan_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/plan"
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
	bins, srcs := load(t, dir, "bookworm")
	tbins, tsrcs := load(t, dir, "trixie")
	local := []*plan.BinaryPackage{
		mustBin(t, "Package: libcjson1\nVersion: 1.7.15-1+local1\nArchitecture: amd64\nSource: cjson\nDepends: libc6 (>= 2.14)"),
		mustBin(t, "Package: libcjson-dev\nVersion: 1.7.15-1+local1\nArchitecture: amd64\nSource: cjson\nDepends: libcjson1 (= 1.7.15-1+local1)"),
	}
	same := func() plan.Input {
		return plan.Input{Arch: "amd64", Binaries: bins, Local: local,
			Archives: []plan.SourceArchive{{Name: "bookworm", Sources: srcs, Binaries: bins}}}
	}
	backport := func() plan.Input {
		return plan.Input{Arch: "amd64", Binaries: bins,
			Archives: []plan.SourceArchive{{Name: "trixie", Sources: tsrcs, Binaries: tbins},
				{Name: "bookworm", Sources: srcs, Binaries: bins}}}
	}
	cases := []struct {
		name    string
		in      func() plan.Input
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
			want := renderPlan(t, plan.NewPlanner(c.in(), full), targets)
			mid := time.Now()
			got := renderPlan(t, plan.NewPlanner(c.in(), c.opts), targets)
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
