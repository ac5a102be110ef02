package plan

import (
	"regexp"
	"strings"
)

// libraryName matches the names of shared library runtime packages
// (libc6, libssl3, libstdc++6, libzstd1, libfoo1t64, ...), whose versioned
// dependencies a package gets from the library it was linked against
// (dpkg-shlibdeps), not from its source.
var libraryName = regexp.MustCompile(`^lib[a-z0-9.+-]*[0-9][a-z]?(t64)?$`)

// predictBinary adapts a binary package of another distribution to what the
// same source would build on the target distribution: dependencies on
// shared library packages the target has (possibly without the 64-bit
// time_t "t64" suffix) lose their version constraint, because a rebuild
// links against the target's library and dpkg-shlibdeps writes the target's
// versions. Other relations are kept: they come from the source.
func predictBinary(b *BinaryPackage, has func(string) bool) *BinaryPackage {
	relax := func(d Dependency) (Dependency, bool) {
		changed := false
		out := Dependency{Relations: make([]Relation, len(d.Relations))}
		for i, r := range d.Relations {
			out.Relations[i] = r
			for j, p := range r.Possibilities {
				if strings.HasSuffix(p.Name, "-dev") || !libraryName.MatchString(p.Name) {
					continue
				}
				name := p.Name
				if !has(name) && strings.HasSuffix(name, "t64") && has(strings.TrimSuffix(name, "t64")) {
					name = strings.TrimSuffix(name, "t64")
				}
				if !has(name) || (name == p.Name && p.Operator == "") {
					continue
				}
				if !changed {
					changed = true
				}
				if &out.Relations[i].Possibilities[0] == &r.Possibilities[0] {
					out.Relations[i].Possibilities = append([]Possibility(nil), r.Possibilities...)
				}
				q := p
				q.Name, q.Operator, q.Version = name, "", ""
				out.Relations[i].Possibilities[j] = q
			}
		}
		return out, changed
	}
	deps, c1 := relax(b.Depends)
	pre, c2 := relax(b.PreDepends)
	if !c1 && !c2 {
		return b
	}
	nb := *b
	nb.Depends, nb.PreDepends = deps, pre
	return &nb
}
