package build

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLintian(t *testing.T) {
	out := `E: hello: some-error-tag usr/bin/hello
W: hello: spelling-error-in-binary teh the [usr/bin/hello]
W: hello: spelling-error-in-binary recieve receive [usr/bin/hello]
I: hello source: out-of-date-standards-version 4.5.0 (released 2020-01-20) (current is 4.6.2)
N: 1 hint overridden
not a tag line
`
	counts, tags := ParseLintian(out)
	if diff := cmp.Diff(map[string]int{"E": 1, "W": 2, "I": 1}, counts); diff != "" {
		t.Errorf("ParseLintian counts mismatch (-want +got):\n%s", diff)
	}
	want := []string{"E: hello: some-error-tag", "I: hello source: out-of-date-standards-version", "W: hello: spelling-error-in-binary"}
	if diff := cmp.Diff(want, tags); diff != "" {
		t.Errorf("ParseLintian tags mismatch (-want +got):\n%s", diff)
	}
}

func TestCompareBuilds(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	write := func(dir, name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fa := []string{write(a, "x_1_amd64.deb", "same"), write(a, "y_1_amd64.deb", "one"), write(a, "z_1_all.deb", "z"), write(a, "x_1_amd64.buildinfo", "t1")}
	fb := []string{write(b, "x_1_amd64.deb", "same"), write(b, "y_1_amd64.deb", "two"), write(b, "x_1_amd64.buildinfo", "t2")}
	rep, err := CompareBuilds(fa, fb)
	if err != nil {
		t.Fatal(err)
	}
	want := &ReproducibilityReport{Identical: []string{"x_1_amd64.deb"}, Differ: []string{"y_1_amd64.deb"}, Missing: []string{"z_1_all.deb"}}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("CompareBuilds mismatch (-want +got):\n%s", diff)
	}
	if err := (&ReproducibilityError{Report: rep}); !errors.Is(err, ErrNotReproducible) {
		t.Error("ReproducibilityError is not ErrNotReproducible")
	}
}

func TestLintianError(t *testing.T) {
	err := &LintianError{FailOn: "error", Report: &LintianReport{Counts: map[string]int{"E": 2}, ReportPath: "/r/lintian.txt"}}
	if !errors.Is(err, ErrLintian) {
		t.Error("LintianError is not ErrLintian")
	}
}
