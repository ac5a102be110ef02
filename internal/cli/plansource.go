package cli

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/packyard/packyard/internal/build"
	"github.com/packyard/packyard/internal/deb822"
	"github.com/packyard/packyard/internal/plan"
)

// renamed presents a .dsc or debian/control paragraph with Sources-style
// field names (Package for Source).
type renamed struct {
	deb822.Paragraph
	extra map[string]string
}

func (r renamed) Get(name string) string {
	if v, ok := r.extra[strings.ToLower(name)]; ok {
		return v
	}
	if strings.EqualFold(name, "Package") {
		return r.Paragraph.Get("Source")
	}
	return r.Paragraph.Get(name)
}

// sourceFromDSC reads a .dsc as a plan source package.
func sourceFromDSC(path string) (*plan.SourcePackage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError("reading %s: %v", path, err)
	}
	if b, _ := clearsign.Decode(data); b != nil {
		data = b.Plaintext
	}
	p, err := deb822.ParseFirst(data)
	if err != nil {
		return nil, usageError("parsing %s: %v", path, err)
	}
	s, err := plan.NewSourcePackage(renamed{Paragraph: p})
	if err != nil {
		return nil, usageError("%s: %v", path, err)
	}
	s.Origin = "local"
	return s, nil
}

// sourceFromTree reads debian/control and debian/changelog of a source tree.
func sourceFromTree(dir string) (*plan.SourcePackage, error) {
	control, err := os.ReadFile(filepath.Join(dir, "debian", "control"))
	if err != nil {
		return nil, &build.SourceTreeError{Path: dir, Reason: "no readable debian/control"}
	}
	paras, err := deb822.ParseAll(control)
	if err != nil || len(paras) == 0 {
		return nil, usageError("%s/debian/control: %v", dir, err)
	}
	cl, err := os.ReadFile(filepath.Join(dir, "debian", "changelog"))
	if err != nil {
		return nil, &build.SourceTreeError{Path: dir, Reason: "no readable debian/changelog"}
	}
	entry, err := build.ParseChangelog(cl)
	if err != nil {
		return nil, usageError("%s/debian/changelog: %v", dir, err)
	}
	var bins, archs []string
	for _, p := range paras[1:] {
		if n := p.Get("Package"); n != "" {
			bins = append(bins, n)
			archs = append(archs, strings.Fields(p.Get("Architecture"))...)
		}
	}
	extra := map[string]string{"version": entry.Version, "binary": strings.Join(bins, ", "), "architecture": strings.Join(uniq(archs), " ")}
	s, err := plan.NewSourcePackage(renamed{Paragraph: paras[0], extra: extra})
	if err != nil {
		return nil, usageError("%s: %v", dir, err)
	}
	s.Origin = "local"
	return s, nil
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
