package plan_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/packyard/packyard/internal/plan"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// A small world: "to" is the distribution we build for (bookworm-like),
// "from" a newer one (trixie-like) with sources to backport.
func backportInput(t *testing.T) plan.Input {
	b := func(s string) *plan.BinaryPackage { return mustBin(t, s) }
	s := func(st string) *plan.SourcePackage { return mustSrc(t, st) }
	return plan.Input{
		Arch: "amd64",
		Binaries: []*plan.BinaryPackage{
			b("Package: build-essential\nVersion: 12.9\nArchitecture: amd64"),
			b("Package: libc6\nVersion: 2.36\nArchitecture: amd64\nEssential: yes"),
			b("Package: debhelper\nVersion: 13.11\nArchitecture: all"),
			b("Package: libfoo-dev\nVersion: 1.0\nArchitecture: amd64\nSource: foo"),
			b("Package: tool\nVersion: 1.0\nArchitecture: amd64"),
		},
		Archives: []plan.SourceArchive{{
			Name: "from",
			Sources: []*plan.SourcePackage{
				s("Package: app\nVersion: 3.0-1\nArchitecture: any\nBinary: app\nBuild-Depends: debhelper (>= 13), libfoo-dev (>= 2.0)"),
				s("Package: foo\nVersion: 2.1-1\nArchitecture: any\nBinary: libfoo-dev, libfoo2\nBuild-Depends: debhelper, libbar-dev (>= 3), tool"),
				s("Package: bar\nVersion: 3.0-1\nArchitecture: any\nBinary: libbar-dev\nBuild-Depends: debhelper"),
				s("Package: broken\nVersion: 1-1\nArchitecture: any\nBinary: broken\nBuild-Depends: libfoo-dev (>= 2), nowhere (>= 1)"),
			},
			Binaries: []*plan.BinaryPackage{
				b("Package: app\nVersion: 3.0-1\nArchitecture: amd64\nDepends: libfoo2 (>= 2.1)"),
				b("Package: libfoo-dev\nVersion: 2.1-1\nArchitecture: amd64\nSource: foo\nDepends: libfoo2 (= 2.1-1), libbar-dev (>= 3)"),
				b("Package: libfoo2\nVersion: 2.1-1\nArchitecture: amd64\nSource: foo"),
				b("Package: libbar-dev\nVersion: 3.0-1\nArchitecture: amd64\nSource: bar"),
			},
		}},
	}
}

func TestPlanBackport(t *testing.T) {
	p := plan.NewPlanner(backportInput(t), plan.Options{BuildDeps: true})
	pl, err := p.Plan([]plan.Target{{Name: "app"}})
	if err != nil {
		t.Fatalf("Plan(app) error %v", err)
	}
	var got [][]string
	for _, st := range pl.Stages {
		var names []string
		for _, it := range st {
			names = append(names, it.Source+"="+it.Version+":"+it.Reason)
		}
		got = append(got, names)
	}
	want := [][]string{{"bar=3.0-1:build-dependency"}, {"foo=2.1-1:build-dependency"}, {"app=3.0-1:target"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Plan(app) stages differ (-want +got):\n%s", diff)
	}
	foo := pl.Stages[1][0]
	if diff := cmp.Diff([]string{"libfoo-dev", "libfoo2"}, foo.Binaries); diff != "" {
		t.Errorf("foo binaries differ (-want +got):\n%s", diff)
	}
	if len(foo.NeededBy) != 1 || foo.NeededBy[0].Source != "app" {
		t.Errorf("foo NeededBy = %+v; want app", foo.NeededBy)
	}
	for _, r := range []struct {
		name   string
		render func(*bytes.Buffer, *plan.Plan) error
	}{
		{"backport.txt", func(b *bytes.Buffer, pl *plan.Plan) error { return plan.WriteText(b, pl) }},
		{"backport.json", func(b *bytes.Buffer, pl *plan.Plan) error { return plan.WriteJSON(b, pl) }},
		{"backport.dot", func(b *bytes.Buffer, pl *plan.Plan) error { return plan.WriteDot(b, pl) }},
	} {
		var buf bytes.Buffer
		if err := r.render(&buf, pl); err != nil {
			t.Fatal(err)
		}
		golden(t, r.name, buf.Bytes())
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, diff)
	}
}

func TestPlanWithoutBuildDeps(t *testing.T) {
	p := plan.NewPlanner(backportInput(t), plan.Options{})
	pl, err := p.Plan([]plan.Target{{Name: "app"}})
	var me *plan.MissingError
	if !errors.As(err, &me) {
		t.Fatalf("Plan(app) without BuildDeps error = %v; want *MissingError", err)
	}
	if len(pl.Items) != 1 || !strings.Contains(me.Error(), "libfoo-dev (>= 2.0)") {
		t.Errorf("Plan(app) = %d items, error %q; want 1 item and libfoo-dev (>= 2.0) missing", len(pl.Items), me.Error())
	}
}

func TestPlanMissing(t *testing.T) {
	p := plan.NewPlanner(backportInput(t), plan.Options{BuildDeps: true})
	pl, err := p.Plan([]plan.Target{{Name: "broken"}})
	var me *plan.MissingError
	if !errors.As(err, &me) {
		t.Fatalf("Plan(broken) error = %v; want *MissingError", err)
	}
	if len(me.Missing) != 1 || me.Missing[0].Source != "broken" || me.Missing[0].Reason.Relation != "nowhere (>= 1)" {
		t.Errorf("Plan(broken) missing = %+v; want broken: nowhere (>= 1)", me.Missing)
	}
	if pl == nil {
		t.Fatal("Plan(broken) returned no plan with its error")
	}
}

func TestPlanNotFound(t *testing.T) {
	p := plan.NewPlanner(backportInput(t), plan.Options{BuildDeps: true})
	if _, err := p.Plan([]plan.Target{{Name: "nosuch"}}); !errors.Is(err, plan.ErrSourceNotFound) {
		t.Errorf("Plan(nosuch) error = %v; want ErrSourceNotFound", err)
	}
}

// cycleInput: a and b build-depend on each other's binaries; b only for its
// tests (<!nocheck>). In bootstrap mode neither has binaries yet.
func cycleInput(t *testing.T) plan.Input {
	b := func(s string) *plan.BinaryPackage { return mustBin(t, s) }
	s := func(st string) *plan.SourcePackage { return mustSrc(t, st) }
	bins := []*plan.BinaryPackage{
		b("Package: build-essential\nVersion: 1\nArchitecture: amd64"),
		b("Package: a-bin\nVersion: 1\nArchitecture: amd64\nSource: a"),
		b("Package: b-bin\nVersion: 1\nArchitecture: amd64\nSource: b"),
		b("Package: c-bin\nVersion: 1\nArchitecture: amd64\nSource: c"),
	}
	return plan.Input{
		Arch:     "amd64",
		Binaries: bins,
		Archives: []plan.SourceArchive{{
			Name: "to",
			Sources: []*plan.SourcePackage{
				s("Package: a\nVersion: 1\nArchitecture: any\nBinary: a-bin\nBuild-Depends: b-bin"),
				s("Package: b\nVersion: 1\nArchitecture: any\nBinary: b-bin\nBuild-Depends: a-bin <!nocheck>, c-bin"),
				s("Package: c\nVersion: 1\nArchitecture: any\nBinary: c-bin"),
			},
			Binaries: bins,
		}},
	}
}

func TestPlanCycle(t *testing.T) {
	p := plan.NewPlanner(cycleInput(t), plan.Options{BuildDeps: true, Bootstrap: true})
	pl, err := p.Plan([]plan.Target{{Name: "a"}, {Name: "b"}, {Name: "c"}})
	if !errors.Is(err, plan.ErrCycle) {
		t.Fatalf("Plan(a, b, c) error = %v; want ErrCycle", err)
	}
	var ce *plan.CycleError
	errors.As(err, &ce)
	if len(ce.Cycles) != 1 {
		t.Fatalf("Plan(a, b, c) cycles = %v; want one", ce.Cycles)
	}
	c := ce.Cycles[0]
	if got, want := c.String(), "a -(b-bin)-> b -(a-bin)-> a [build b with <nocheck> to drop a]"; got != want {
		t.Errorf("cycle = %q; want %q", got, want)
	}
	if pl.Stages[0][0].Source != "c" {
		t.Errorf("stage 1 = %v; want c first", pl.Stages[0])
	}

	// With nocheck active the cycle is gone: c, then b, then a.
	p = plan.NewPlanner(cycleInput(t), plan.Options{BuildDeps: true, Bootstrap: true, Profiles: []string{"nocheck"}})
	pl, err = p.Plan([]plan.Target{{Name: "a"}, {Name: "b"}, {Name: "c"}})
	if err != nil {
		t.Fatalf("Plan with nocheck error = %v", err)
	}
	var order []string
	for _, it := range pl.Items {
		order = append(order, it.Source)
	}
	if diff := cmp.Diff([]string{"c", "b", "a"}, order); diff != "" {
		t.Errorf("order with nocheck differs (-want +got):\n%s", diff)
	}
}

// Without Bootstrap, the archive's own binaries break the cycle: the plan
// notes it and still orders the rebuild.
func TestPlanCycleBrokenByIndex(t *testing.T) {
	p := plan.NewPlanner(cycleInput(t), plan.Options{BuildDeps: true})
	pl, err := p.Plan([]plan.Target{{Name: "a"}, {Name: "b"}})
	if err != nil {
		t.Fatalf("Plan(a, b) error = %v; want none (index binaries break the cycle)", err)
	}
	if len(pl.Notes) == 0 {
		t.Errorf("Plan(a, b) has no note about the broken cycle")
	}
	if len(pl.Stages) != 2 {
		t.Errorf("Plan(a, b) has %d stages; want 2", len(pl.Stages))
	}
}

func TestPlanLocalWins(t *testing.T) {
	in := backportInput(t)
	in.Local = []*plan.BinaryPackage{mustBin(t, "Package: libfoo-dev\nVersion: 2.5-0local1\nArchitecture: amd64\nSource: foo")}
	p := plan.NewPlanner(in, plan.Options{BuildDeps: true})
	pl, err := p.Plan([]plan.Target{{Name: "app"}})
	if err != nil || len(pl.Items) != 1 {
		t.Fatalf("Plan(app) with local libfoo-dev = %d items, %v; want only app", len(pl.Items), err)
	}
	p = plan.NewPlanner(in, plan.Options{BuildDeps: true, SkipLocal: true})
	pl, err = p.Plan([]plan.Target{{Name: "app"}})
	if err != nil || len(pl.Items) != 3 {
		t.Fatalf("Plan(app) with SkipLocal = %d items, %v; want 3", len(pl.Items), err)
	}
}

// A target given as a source package (from a .dsc or a source tree) is
// planned with its build-dependency closure like a named one.
func TestPlanGivenSource(t *testing.T) {
	p := plan.NewPlanner(backportInput(t), plan.Options{BuildDeps: true})
	dsc := mustSrc(t, "Source: mine\nVersion: 0.1-1\nArchitecture: any\nBinary: mine-tools\nBuild-Depends: libfoo-dev (>= 2)")
	pl, err := p.Plan([]plan.Target{{Source: dsc}})
	if err != nil {
		t.Fatalf("Plan(mine) error %v", err)
	}
	var got []string
	for _, it := range pl.Items {
		got = append(got, it.Source)
	}
	if diff := cmp.Diff([]string{"bar", "foo", "mine"}, got); diff != "" {
		t.Errorf("Plan(mine) order differs (-want +got):\n%s", diff)
	}
	if last := pl.Items[len(pl.Items)-1]; len(last.Binaries) != 1 || last.Binaries[0] != "mine-tools" {
		t.Errorf("mine binaries = %v; want [mine-tools]", last.Binaries)
	}
}
