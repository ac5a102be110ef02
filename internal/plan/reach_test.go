package plan_test

import (
	"bytes"
	"testing"

	"github.com/packyard/packyard/internal/plan"
)

// planText plans targets and renders the plan as text and JSON, with the
// error.
func planText(t *testing.T, p *plan.Planner, names ...string) string {
	t.Helper()
	var targets []plan.Target
	for _, n := range names {
		targets = append(targets, plan.Target{Name: n})
	}
	pl, err := p.Plan(targets)
	var buf bytes.Buffer
	if pl != nil {
		plan.WriteText(&buf, pl)
		plan.WriteJSON(&buf, pl)
	}
	if err != nil {
		buf.WriteString("error: " + err.Error() + "\n")
	}
	return buf.String()
}

// TestPlanPrunedEqualsFull plans the small worlds with and without
// Options.CompileAll: backporting app needs foo, which needs bar, so the
// pruned planner compiles three times.
func TestPlanPrunedEqualsFull(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      func(*testing.T) plan.Input
		opts    plan.Options
		targets []string
	}{
		{"backport", backportInput, plan.Options{BuildDeps: true}, []string{"app"}},
		{"backport-broken", backportInput, plan.Options{BuildDeps: true}, []string{"broken", "app"}},
		{"no-build-deps", backportInput, plan.Options{}, []string{"app"}},
		{"cycle", cycleInput, plan.Options{BuildDeps: true, Bootstrap: true}, []string{"a", "b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			full := c.opts
			full.CompileAll = true
			want := planText(t, plan.NewPlanner(c.in(t), full), c.targets...)
			got := planText(t, plan.NewPlanner(c.in(t), c.opts), c.targets...)
			if got != want {
				t.Errorf("pruned plan of %v:\n%s\nwant (full):\n%s", c.targets, got, want)
			}
		})
	}
}

// TestPlanIndexPackagesUnreadable reads packages as the CLI does, with
// relation fields that do not parse: those packages and sources are left
// out, as when their paragraphs are skipped.
func TestPlanIndexPackagesUnreadable(t *testing.T) {
	binaries := []string{
		"Package: build-essential\nVersion: 12.9\nArchitecture: amd64",
		"Package: libc6\nVersion: 2.36\nArchitecture: amd64\nEssential: yes",
		"Package: tool2\nVersion: 1.0\nArchitecture: amd64\nDepends: (>= 1)",
		"Package: tool\nVersion: 1.0\nArchitecture: amd64",
	}
	sources := []string{
		"Package: app\nVersion: 1.0-2\nArchitecture: any\nBinary: app\nBuild-Depends: tool2 | tool, [amd64]",
		"Package: app\nVersion: 1.0-1\nArchitecture: any\nBinary: app\nBuild-Depends: tool2 | tool, helper",
		"Package: helper\nVersion: 1\nArchitecture: any\nBinary: helper\nBuild-Depends: tool (",
	}
	var bf, sf []plan.FieldMap
	for _, s := range binaries {
		bf = append(bf, fields(t, s))
	}
	for _, s := range sources {
		sf = append(sf, fields(t, s))
	}
	bins, err := plan.IndexBinaryPackages(bf)
	if err != nil {
		t.Fatalf("IndexBinaryPackages error %v", err)
	}
	srcs, err := plan.IndexSourcePackages(sf)
	if err != nil {
		t.Fatalf("IndexSourcePackages error %v", err)
	}
	// helper, which app needs, comes from an archive without Binaries; its
	// only source is unreadable.
	lazy := plan.Input{Arch: "amd64", Binaries: bins, Archives: []plan.SourceArchive{
		{Name: "from", Sources: srcs[2:]}, {Name: "to", Sources: srcs[:2], Binaries: bins}}}
	skipped := plan.Input{Arch: "amd64",
		Binaries: []*plan.BinaryPackage{mustBin(t, binaries[0]), mustBin(t, binaries[1]), mustBin(t, binaries[3])},
		Archives: []plan.SourceArchive{{Name: "from"}, {Name: "to", Sources: []*plan.SourcePackage{mustSrc(t, sources[1])}}}}
	skipped.Archives[1].Binaries = skipped.Binaries
	want := planText(t, plan.NewPlanner(skipped, plan.Options{BuildDeps: true}), "app")
	got := planText(t, plan.NewPlanner(lazy, plan.Options{BuildDeps: true}), "app")
	if got != want {
		t.Errorf("plan with unreadable packages:\n%s\nwant (skipped):\n%s", got, want)
	}
	if all := planText(t, plan.NewPlanner(lazy, plan.Options{BuildDeps: true, CompileAll: true}), "app"); all != want {
		t.Errorf("plan with unreadable packages, everything compiled:\n%s\nwant (skipped):\n%s", all, want)
	}
	if !bytes.Contains([]byte(got), []byte("app 1.0-1")) || !bytes.Contains([]byte(got), []byte("helper has no installable candidate")) {
		t.Errorf("plan with unreadable packages:\n%s\nwant app 1.0-1 missing helper", got)
	}
	u := plan.NewUniverse("amd64", bins)
	if got := u.Lookup("tool2"); len(got) != 0 {
		t.Errorf("Lookup(tool2) = %v; want nothing (its Depends does not parse)", got)
	}
	rep := u.CheckAll(srcs, plan.CheckOptions{})
	if rep.Checked != 1 || rep.Broken != 1 {
		t.Errorf("CheckAll = %d checked, %d broken; want 1, 1 (app 1.0-1 needs helper)", rep.Checked, rep.Broken)
	}
}
