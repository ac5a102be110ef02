package plan_test

import (
	"testing"

	"github.com/packyard/packyard/internal/deb822"
	"github.com/packyard/packyard/internal/plan"
)

// The pantry's paragraphs feed the planner directly.
var _ plan.Fields = deb822.Paragraph{}

func TestFromDeb822(t *testing.T) {
	paras, err := deb822.ParseAll([]byte("Package: hello\nVersion: 2.10-3\nArchitecture: amd64\nDepends: libc6 (>= 2.34)\n\nPackage: libc6\nVersion: 2.36-9\nArchitecture: amd64\n"))
	if err != nil {
		t.Fatal(err)
	}
	bins, err := plan.BinaryPackages(paras)
	if err != nil {
		t.Fatal(err)
	}
	if len(bins) != 2 || bins[0].Depends.String() != "libc6 (>= 2.34)" {
		t.Errorf("BinaryPackages(deb822) = %+v", bins)
	}
}
