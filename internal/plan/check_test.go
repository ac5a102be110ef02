package plan_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/packyard/packyard/internal/plan"
	"github.com/packyard/packyard/internal/plan/indexfile"
)

// TestCheckAllDoseCases checks hand-written corner cases (Multi-Arch,
// Provides, versioned provides, ":any", ":native", architecture and profile
// restrictions, Essential, Breaks, same-name versions, backtracking)
// against the verdicts dose-builddebcheck 7.0 gave on the same files
// (testdata/dosecases/broken.golden).
func TestCheckAllDoseCases(t *testing.T) {
	dir := filepath.Join("testdata", "dosecases")
	bins, err := indexfile.ReadPackages(filepath.Join(dir, "Packages"))
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := indexfile.ReadSources(filepath.Join(dir, "Sources"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "broken.golden"))
	if err != nil {
		t.Fatal(err)
	}
	u := plan.NewUniverse("amd64", bins)
	for _, workers := range []int{1, 2} {
		rep := u.CheckAll(srcs, plan.CheckOptions{Workers: workers})
		got := rep.BrokenSources()
		if diff := cmp.Diff(strings.Fields(string(want)), got); diff != "" {
			t.Errorf("CheckAll(workers=%d) broken sources differ from dose (-dose +got):\n%s", workers, diff)
		}
		for _, r := range rep.Results {
			if !r.Satisfiable && len(r.Reasons) == 0 {
				t.Errorf("%s: unsatisfiable without a reason", r.Source)
			}
		}
		if rep.Checked != 39 {
			t.Errorf("CheckAll checked %d sources; want 39 (the i386-only one is skipped)", rep.Checked)
		}
	}
}

func TestCheckReasons(t *testing.T) {
	bins := []*plan.BinaryPackage{
		mustBin(t, "Package: build-essential\nVersion: 1\nArchitecture: amd64"),
		mustBin(t, "Package: libc6\nVersion: 2.36\nArchitecture: amd64\nEssential: yes"),
		mustBin(t, "Package: liba-dev\nVersion: 1\nArchitecture: amd64\nDepends: libb-dev (>= 2)"),
		mustBin(t, "Package: libb-dev\nVersion: 1\nArchitecture: amd64"),
		mustBin(t, "Package: tool\nVersion: 1\nArchitecture: amd64\nConflicts: libc6"),
		mustBin(t, "Package: x\nVersion: 1\nArchitecture: amd64\nBreaks: y"),
		mustBin(t, "Package: y\nVersion: 1\nArchitecture: amd64"),
	}
	u := plan.NewUniverse("amd64", bins)
	tests := []struct {
		name, bd string
		want     string // substring of the first reason
	}{
		{"missing", "nothere (>= 1)", "nothere (>= 1) has no installable candidate (needed by src:s (1))"},
		{"deep missing", "liba-dev", "libb-dev (>= 2) has no installable candidate (needed by src:s (1) -> liba-dev (1))"},
		{"essential conflict", "tool", "tool (1) conflicts with libc6 (2.36)"},
		{"breaks", "x, y", "conflicts with"},
		{"ok", "y", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := mustSrc(t, "Package: s\nVersion: 1\nArchitecture: any\nBuild-Depends: "+tt.bd)
			res := u.CheckSource(src, plan.CheckOptions{})
			if tt.want == "" {
				if !res.Satisfiable {
					t.Fatalf("CheckSource(%q) = unsatisfiable %v; want satisfiable", tt.bd, res.Reasons)
				}
				return
			}
			if res.Satisfiable || len(res.Reasons) == 0 {
				t.Fatalf("CheckSource(%q) satisfiable; want a failure", tt.bd)
			}
			if got := res.Reasons[0].String(); !strings.Contains(got, tt.want) {
				t.Errorf("CheckSource(%q) reason = %q; want it to contain %q", tt.bd, got, tt.want)
			}
		})
	}
}

func TestCheckOptions(t *testing.T) {
	bins := []*plan.BinaryPackage{
		mustBin(t, "Package: build-essential\nVersion: 1\nArchitecture: amd64"),
	}
	u := plan.NewUniverse("amd64", bins)
	src := mustSrc(t, "Package: s\nVersion: 1\nArchitecture: any all\nBuild-Depends: a <stage1>, b <!nocheck>\nBuild-Depends-Indep: c\nBuild-Depends-Arch: d")
	tests := []struct {
		opts plan.CheckOptions
		want []string // missing relations
	}{
		{plan.CheckOptions{}, []string{"c", "b <!nocheck>", "d"}},
		{plan.CheckOptions{Profiles: []string{"nocheck"}, DropIndep: true}, []string{"d"}},
		{plan.CheckOptions{Profiles: []string{"stage1", "nocheck"}, DropArch: true}, []string{"c", "a <stage1>"}},
	}
	for _, tt := range tests {
		res := u.CheckSource(src, tt.opts)
		var got []string
		for _, r := range res.Reasons {
			got = append(got, r.Relation)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("CheckSource with %+v: missing relations differ (-want +got):\n%s", tt.opts, diff)
		}
	}
}

func fields(t *testing.T, stanza string) plan.FieldMap {
	t.Helper()
	m := plan.FieldMap{}
	for _, line := range strings.Split(stanza, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("bad test stanza line %q", line)
		}
		m[k] = strings.TrimSpace(v)
	}
	return m
}

func mustBin(t *testing.T, stanza string) *plan.BinaryPackage {
	t.Helper()
	b, err := plan.NewBinaryPackage(fields(t, stanza))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustSrc(t *testing.T, stanza string) *plan.SourcePackage {
	t.Helper()
	s, err := plan.NewSourcePackage(fields(t, stanza))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBinaryPackagesConvert(t *testing.T) {
	var paras []plan.FieldMap
	for i := 0; i < 3000; i++ {
		paras = append(paras, plan.FieldMap{"Package": "p", "Version": "1", "Architecture": "all", "Depends": "a | b"})
	}
	bins, err := plan.BinaryPackages(paras)
	if err != nil || len(bins) != 3000 || bins[2999].Depends.String() != "a | b" {
		t.Fatalf("BinaryPackages = %d packages, %v", len(bins), err)
	}
	paras[1500] = plan.FieldMap{"Package": "broken"}
	if _, err := plan.BinaryPackages(paras); err == nil {
		t.Errorf("BinaryPackages with a paragraph without Version succeeded")
	}
}

func TestCheckFirstAlternative(t *testing.T) {
	u := plan.NewUniverse("amd64", []*plan.BinaryPackage{
		mustBin(t, "Package: build-essential\nVersion: 1\nArchitecture: amd64"),
		mustBin(t, "Package: b\nVersion: 1\nArchitecture: amd64"),
	})
	src := mustSrc(t, "Package: s\nVersion: 1\nArchitecture: any\nBuild-Depends: a | b")
	if res := u.CheckSource(src, plan.CheckOptions{}); !res.Satisfiable {
		t.Errorf("CheckSource(a | b) = %v; want satisfiable by b", res.Reasons)
	}
	if res := u.CheckSource(src, plan.CheckOptions{FirstAlternative: true}); res.Satisfiable {
		t.Errorf("CheckSource(a | b) with FirstAlternative satisfiable; want a missing")
	}
}
