package plan_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/packyard/packyard/internal/plan"
)

func TestParseDependency(t *testing.T) {
	tests := []struct {
		in   string
		want plan.Dependency
	}{
		{"", plan.Dependency{}},
		{"a", plan.Dependency{Relations: []plan.Relation{{Possibilities: []plan.Possibility{{Name: "a"}}}}}},
		{"a (>= 1.0-2), b | c:any (<< 2~) , ", plan.Dependency{Relations: []plan.Relation{
			{Possibilities: []plan.Possibility{{Name: "a", Operator: ">=", Version: "1.0-2"}}},
			{Possibilities: []plan.Possibility{{Name: "b"}, {Name: "c", Arch: "any", Operator: "<<", Version: "2~"}}},
		}}},
		{"gcc-12:native [!hurd-any !kfreebsd-any] <!nocheck> <stage1 !cross>", plan.Dependency{Relations: []plan.Relation{
			{Possibilities: []plan.Possibility{{Name: "gcc-12", Arch: "native", Architectures: []string{"hurd-any", "kfreebsd-any"}, ArchNot: true,
				Profiles: [][]plan.ProfileTerm{{{Not: true, Name: "nocheck"}}, {{Name: "stage1"}, {Not: true, Name: "cross"}}}}}},
		}}},
		{"x (<1),\n y (>1) [linux-any]", plan.Dependency{Relations: []plan.Relation{
			{Possibilities: []plan.Possibility{{Name: "x", Operator: "<=", Version: "1"}}},
			{Possibilities: []plan.Possibility{{Name: "y", Operator: ">=", Version: "1", Architectures: []string{"linux-any"}}}},
		}}},
	}
	for _, tt := range tests {
		got, err := plan.ParseDependency(tt.in)
		if err != nil {
			t.Errorf("ParseDependency(%q) error %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseDependency(%q) differs (-want +got):\n%s", tt.in, diff)
		}
	}
	for _, bad := range []string{"a (>= 1", "a [amd64", "a <nocheck", "a (~ 1)", "a (>= )", "a b"} {
		if _, err := plan.ParseDependency(bad); err == nil {
			t.Errorf("ParseDependency(%q) succeeded; want an error", bad)
		}
	}
}

func TestDependencyString(t *testing.T) {
	in := "a:any (>= 1) [!i386] <!nocheck> | b, c"
	d, err := plan.ParseDependency(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.String(); got != in {
		t.Errorf("String() = %q; want %q", got, in)
	}
}

func TestArchMatches(t *testing.T) {
	tests := []struct {
		alias, real string
		want        bool
	}{
		{"amd64", "amd64", true},
		{"any", "amd64", true},
		{"all", "amd64", true},
		{"linux-any", "amd64", true},
		{"any-amd64", "amd64", true},
		{"any-i386", "amd64", false},
		{"kfreebsd-any", "amd64", false},
		{"kfreebsd-amd64", "amd64", false},
		{"hurd-i386", "i386", false},
		{"x32", "amd64", false},
		{"gnu-any-amd64", "amd64", true},
		{"linux-any", "armhf", true},
		{"any-arm", "armhf", true},
		{"armel", "armhf", false},
		{"i386", "amd64", false},
		{"unknown", "amd64", false},
	}
	for _, tt := range tests {
		if got := plan.ArchMatches(tt.alias, tt.real); got != tt.want {
			t.Errorf("ArchMatches(%q, %q) = %v; want %v", tt.alias, tt.real, got, tt.want)
		}
	}
}
