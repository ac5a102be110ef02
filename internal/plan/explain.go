package plan

import (
	"strings"

	"github.com/packyard/packyard/internal/plan/solver"
)

// varName names a solver variable for explanations.
func (u *Universe) varName(v int32, src *SourcePackage) string {
	switch {
	case v == u.varRoot:
		return "essential"
	case v == u.varBase:
		return "build-essential"
	case v == u.varSource && src != nil:
		return "src:" + src.Package + " (" + src.Version + ")"
	case v >= 0 && int(v) < len(u.Packages):
		p := u.Packages[v]
		return p.Package + " (" + p.Version + ")"
	}
	return "?"
}

func (u *Universe) chainNames(chain []int32, src *SourcePackage) []string {
	out := make([]string, 0, len(chain))
	for _, v := range chain {
		out = append(out, u.varName(v, src))
	}
	return out
}

func (u *Universe) explain(s *solver.Solver, src *SourcePackage, sr sourceReq) []Reason {
	return u.explainWith(s, src, sr, nil)
}

// explainWith explains a failed Solve; unavailable marks packages the
// caller made unavailable (they are reported as missing, not explained).
func (u *Universe) explainWith(s *solver.Solver, src *SourcePackage, sr sourceReq, unavailable func(int32) bool) []Reason {
	fc := s.FirstConflict()
	s.ResetBase()
	srcName := u.varName(u.varSource, src)
	var reasons []Reason
	for i, alts := range sr.requires {
		if len(alts) == 0 {
			reasons = append(reasons, Reason{Kind: "missing", Relation: sr.relations[i].String(), Chain: []string{srcName}})
		}
	}
	if len(u.buildEssential) == 0 {
		reasons = append(reasons, Reason{Kind: "missing", Relation: "build-essential", Chain: []string{srcName}})
	}
	if len(reasons) > 0 {
		return reasons
	}
	allUnavailable := func(alts []int32) bool {
		if unavailable == nil {
			return false
		}
		for _, a := range alts {
			if !unavailable(a) {
				return false
			}
		}
		return true
	}
	for i, alts := range sr.requires {
		if allUnavailable(alts) {
			reasons = append(reasons, Reason{Kind: "missing", Relation: sr.relations[i].String(), Chain: []string{srcName}})
		}
	}
	if len(reasons) > 0 {
		return reasons
	}
	fixedFalse := func(alts []int32) bool {
		for _, a := range alts {
			if s.Value(a) != -1 {
				return false
			}
		}
		return true
	}
	if fixedFalse(u.buildEssential) {
		return []Reason{u.explainFalse(s, u.buildEssential[0], []string{srcName, "build-essential"}, unavailable)}
	}
	for _, alts := range sr.requires {
		if fixedFalse(alts) {
			return []Reason{u.explainFalse(s, alts[0], []string{srcName}, unavailable)}
		}

	}
	if !fc.Found {
		return []Reason{{Kind: "conflict", Chain: []string{srcName}}}
	}
	if fc.Clause == nil {
		r := Reason{Kind: "conflict",
			Packages: []string{u.varName(fc.A, src), u.varName(fc.B, src)},
			Chains:   [][]string{u.chainNames(fc.ChainA, src), u.chainNames(fc.ChainB, src)},
		}
		return []Reason{r}
	}
	var alts []string
	for _, l := range fc.Clause {
		if !l.IsNeg() {
			alts = append(alts, u.varName(l.Var(), src))
		}
	}
	return []Reason{{Kind: "conflict", Relation: strings.Join(alts, " | "), Chain: u.chainNames(fc.ChainA, src)}}
}

// explainFalse explains why package v can never be installed: one of its
// relations has no installable candidate (followed down to a relation with
// none at all), or it conflicts with a package that is always installed.
func (u *Universe) explainFalse(s *solver.Solver, v int32, chain []string, unavailable func(int32) bool) Reason {
	visited := map[int32]bool{}
	for !visited[v] {
		visited[v] = true
		pkg := u.Packages[v]
		chain = append(chain, u.varName(v, nil))
		next := int32(-1)
		for _, dep := range []*Dependency{&pkg.PreDepends, &pkg.Depends} {
			for _, r := range dep.Relations {
				alts, _ := u.relationCandidates(r, nil, nil)
				if len(alts) == 0 {
					return Reason{Kind: "missing", Relation: r.String(), Chain: chain}
				}
				all := true
				for _, a := range alts {
					if s.Value(a) != -1 {
						all = false
						break
					}
				}
				if all && unavailable != nil {
					none := true
					for _, a := range alts {
						if !unavailable(a) {
							none = false
						}
					}
					if none {
						return Reason{Kind: "missing", Relation: r.String(), Chain: chain}
					}
				}
				if all && next < 0 {
					next = alts[0]
				}
			}
		}
		if next < 0 {
			if _, w := s.Reason(v); w >= 0 {
				return Reason{Kind: "conflict", Packages: []string{u.varName(v, nil), u.varName(w, nil)},
					Chains: [][]string{chain, {"essential", u.varName(w, nil)}}}
			}
			return Reason{Kind: "conflict", Chain: chain}
		}
		v = next
	}
	return Reason{Kind: "missing", Chain: chain}
}
