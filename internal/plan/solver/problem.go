// Package solver decides whether a set of Debian packages can be installed
// together: a small CDCL SAT solver specialised for package relations.
//
// A Problem has one boolean variable per package (plus any extra variables
// the caller reserves, for example one for "the source being checked").
// Three kinds of constraint are supported:
//
//   - requirements: "if v is installed, one of alts is" (Depends,
//     Pre-Depends, Build-Depends; an empty alternative list makes v
//     uninstallable),
//   - conflicts: "a and b are not installed together" (Conflicts, Breaks,
//     other versions of the same package),
//   - units: a variable forced true or false.
//
// Solving is complete (conflict-driven clause learning with 1-UIP, restarts
// are unnecessary at this size) while its branching heuristic is the one a
// package manager uses: walk the installed packages in order and install the
// first alternative of the first unsatisfied requirement. Instances without
// conflicts are therefore solved greedily, without backtracking; only
// instances where Conflicts/Breaks bite pay for search.
//
// A Problem is immutable once built and may be shared by any number of
// Solvers, one per goroutine.
package solver

import "sort"

// Lit is a literal: variable v is 2v (true) or 2v+1 (false).
type Lit int32

// Pos returns the literal "v is true".
func Pos(v int32) Lit { return Lit(v << 1) }

// Neg returns the literal "v is false".
func Neg(v int32) Lit { return Lit(v<<1 | 1) }

// Var returns the literal's variable.
func (l Lit) Var() int32 { return int32(l >> 1) }

// IsNeg reports whether the literal is negative.
func (l Lit) IsNeg() bool { return l&1 == 1 }

// Not returns the complementary literal.
func (l Lit) Not() Lit { return l ^ 1 }

// Problem is the immutable part of an installability instance.
type Problem struct {
	numVars   int32
	lits      []Lit   // clause literals, clause c is lits[starts[c]:starts[c+1]]
	starts    []int32 // len = clauses+1
	requires  [][]int32
	conflicts [][]int32
	units     []Lit
}

// Builder collects the constraints of a Problem.
type Builder struct {
	p         Problem
	conflicts [][]int32
}

// NewBuilder returns a Builder for numVars variables numbered 0..numVars-1.
func NewBuilder(numVars int) *Builder {
	b := &Builder{}
	b.p.numVars = int32(numVars)
	b.p.starts = []int32{0}
	b.p.requires = make([][]int32, numVars)
	b.conflicts = make([][]int32, numVars)
	return b
}

// Require adds "v implies one of alts". With no alts, v is forced false.
// Duplicates in alts are allowed; an alternative equal to v satisfies the
// requirement trivially and the requirement is dropped.
func (b *Builder) Require(v int32, alts []int32) {
	if len(alts) == 0 {
		b.p.units = append(b.p.units, Neg(v))
		return
	}
	start := len(b.p.lits)
	b.p.lits = append(b.p.lits, Neg(v))
	for _, a := range alts {
		if a == v {
			b.p.lits = b.p.lits[:start]
			return
		}
		dup := false
		for _, l := range b.p.lits[start+1:] {
			if l == Pos(a) {
				dup = true
				break
			}
		}
		if !dup {
			b.p.lits = append(b.p.lits, Pos(a))
		}
	}
	c := int32(len(b.p.starts) - 1)
	b.p.starts = append(b.p.starts, int32(len(b.p.lits)))
	b.p.requires[v] = append(b.p.requires[v], c)
}

// Conflict adds "a and b are not both true". A conflict of a variable with
// itself is ignored, as Debian ignores a package's conflict with itself.
func (b *Builder) Conflict(a, c int32) {
	if a == c {
		return
	}
	b.conflicts[a] = append(b.conflicts[a], c)
	b.conflicts[c] = append(b.conflicts[c], a)
}

// Unit forces a literal.
func (b *Builder) Unit(l Lit) { b.p.units = append(b.p.units, l) }

// Build returns the Problem. The Builder must not be used afterwards.
func (b *Builder) Build() *Problem {
	for v, cs := range b.conflicts {
		if len(cs) == 0 {
			continue
		}
		sort.Slice(cs, func(i, j int) bool { return cs[i] < cs[j] })
		out := cs[:1]
		for _, c := range cs[1:] {
			if c != out[len(out)-1] {
				out = append(out, c)
			}
		}
		b.conflicts[v] = out
	}
	b.p.conflicts = b.conflicts
	p := b.p
	return &p
}

// NumVars returns the number of variables.
func (p *Problem) NumVars() int { return int(p.numVars) }
