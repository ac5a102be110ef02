package plan

import (
	"fmt"
	"strings"

	"pault.ag/go/debian/version"
)

// Fields is read access to one deb822 paragraph: Get returns the value of a
// field by case-insensitive name, or "". deb822.Paragraph, the pantry's
// index paragraphs and FieldMap satisfy it.
type Fields interface {
	Get(name string) string
}

// FieldMap is a Fields backed by a map, for tests and small hand-written
// indexes. Lookups are case-insensitive.
type FieldMap map[string]string

// Get returns the value of the named field.
func (m FieldMap) Get(name string) string {
	if v, ok := m[name]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// BinaryPackage is the part of a Packages stanza the planner uses.
type BinaryPackage struct {
	Package       string
	Version       string
	Architecture  string
	MultiArch     string // "", "same", "foreign", "allowed"
	Essential     bool
	Source        string // source package name (Package when absent)
	SourceVersion string // source version (Version when absent)
	Provides      Dependency
	Depends       Dependency
	PreDepends    Dependency
	Conflicts     Dependency
	Breaks        Dependency

	version version.Version
	lazy    *lazyRelations // Depends, Pre-Depends, Conflicts, Breaks not read yet
}

// SourcePackage is the part of a Sources stanza the planner uses.
type SourcePackage struct {
	Package             string
	Version             string
	Architecture        []string
	Binaries            []string // the Binary field
	BuildDepends        Dependency
	BuildDependsArch    Dependency
	BuildDependsIndep   Dependency
	BuildConflicts      Dependency
	BuildConflictsArch  Dependency
	BuildConflictsIndep Dependency
	ExtraSourceOnly     bool
	// Origin names where the source comes from (an archive suite such as
	// "trixie", or "local"); the planner copies it into plan items.
	Origin string

	version version.Version
	lazy    *lazyRelations // the Build-* fields not read yet
}

// NewBinaryPackage reads a binary package from a Packages paragraph. It
// fails when Package, Version or Architecture is missing or a relation field
// does not parse.
func NewBinaryPackage(f Fields) (*BinaryPackage, error) {
	b, err := newBinaryHead(f)
	if err != nil {
		return nil, err
	}
	if err := readRelations(b.Package, binaryRelations[:], getAll(f, binaryRelations[:]), b.relations()); err != nil {
		return nil, err
	}
	return b, nil
}

// newBinaryHead reads what the planner needs of every package of an
// archive: names, versions, Essential and Provides.
func newBinaryHead(f Fields) (*BinaryPackage, error) {
	b := &BinaryPackage{
		Package:      f.Get("Package"),
		Version:      f.Get("Version"),
		Architecture: f.Get("Architecture"),
		MultiArch:    strings.ToLower(f.Get("Multi-Arch")),
		Essential:    strings.EqualFold(f.Get("Essential"), "yes"),
	}
	if b.Package == "" || b.Version == "" || b.Architecture == "" {
		return nil, fmt.Errorf("reading binary package %q: missing Package, Version or Architecture", b.Package)
	}
	v, err := version.Parse(b.Version)
	if err != nil {
		return nil, fmt.Errorf("reading binary package %s: %w", b.Package, err)
	}
	b.version = v
	b.Source, b.SourceVersion = b.Package, b.Version
	if src := f.Get("Source"); src != "" {
		name, ver, ok := strings.Cut(src, " ")
		b.Source = name
		if ok {
			b.SourceVersion = strings.Trim(strings.TrimSpace(ver), "()")
		}
	}
	if b.Provides, err = ParseDependency(f.Get("Provides")); err != nil {
		return nil, fmt.Errorf("reading Provides of %s: %w", b.Package, err)
	}
	return b, nil
}

// binaryRelations are the relation fields newBinaryHead leaves to
// readRelations, in the order of BinaryPackage.relations.
var binaryRelations = [...]string{"Depends", "Pre-Depends", "Conflicts", "Breaks"}

func (b *BinaryPackage) relations() []*Dependency {
	return []*Dependency{&b.Depends, &b.PreDepends, &b.Conflicts, &b.Breaks}
}

// readRelations parses the values of the relation fields, given in the
// order of names, into dst.
func readRelations(what string, names []string, values []string, dst []*Dependency) error {
	for i, name := range names {
		var err error
		if *dst[i], err = ParseDependency(values[i]); err != nil {
			return fmt.Errorf("reading %s of %s: %w", name, what, err)
		}
	}
	return nil
}

func getAll(f Fields, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = f.Get(n)
	}
	return out
}

// NewSourcePackage reads a source package from a Sources paragraph (or a
// .dsc, whose Source field names the package). It fails when the name or
// Version is missing or a relation field does not parse.
func NewSourcePackage(f Fields) (*SourcePackage, error) {
	s, err := newSourceHead(f)
	if err != nil {
		return nil, err
	}
	if err := readRelations("source "+s.Package, sourceRelations[:], getAll(f, sourceRelations[:]), s.relations()); err != nil {
		return nil, err
	}
	return s, nil
}

func newSourceHead(f Fields) (*SourcePackage, error) {
	s := &SourcePackage{
		Package:         f.Get("Package"),
		Version:         f.Get("Version"),
		Architecture:    strings.Fields(f.Get("Architecture")),
		ExtraSourceOnly: strings.EqualFold(f.Get("Extra-Source-Only"), "yes"),
	}
	if s.Package == "" {
		s.Package = f.Get("Source")
	}
	if s.Package == "" || s.Version == "" {
		return nil, fmt.Errorf("reading source package %q: missing Package or Version", s.Package)
	}
	v, err := version.Parse(s.Version)
	if err != nil {
		return nil, fmt.Errorf("reading source package %s: %w", s.Package, err)
	}
	s.version = v
	for _, b := range strings.Split(f.Get("Binary"), ",") {
		if b = strings.TrimSpace(b); b != "" {
			s.Binaries = append(s.Binaries, b)
		}
	}
	return s, nil
}

// sourceRelations are the relation fields newSourceHead leaves to
// readRelations, in the order of SourcePackage.relations.
var sourceRelations = [...]string{"Build-Depends", "Build-Depends-Arch", "Build-Depends-Indep",
	"Build-Conflicts", "Build-Conflicts-Arch", "Build-Conflicts-Indep"}

func (s *SourcePackage) relations() []*Dependency {
	return []*Dependency{&s.BuildDepends, &s.BuildDependsArch, &s.BuildDependsIndep,
		&s.BuildConflicts, &s.BuildConflictsArch, &s.BuildConflictsIndep}
}

// satisfies reports whether version v satisfies "op want".
func satisfies(v version.Version, op string, want version.Version) bool {
	c := version.Compare(v, want)
	switch op {
	case "<<":
		return c < 0
	case "<=":
		return c <= 0
	case "=":
		return c == 0
	case ">=":
		return c >= 0
	case ">>":
		return c > 0
	}
	return true
}
