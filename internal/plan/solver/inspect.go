package solver

func (s *Solver) recordFirst() {
	if s.first.Found {
		return
	}
	if s.cur.c >= 0 {
		st := s.cstart[s.cur.c]
		cl := append([]Lit(nil), s.lits[st:st+s.clen[s.cur.c]]...)
		s.first = Conflict{Found: true, Clause: cl, A: -1, B: -1}
		for _, l := range cl {
			if l.IsNeg() && s.assign[l.Var()] == 1 {
				s.first.A = l.Var()
				s.first.ChainA = s.Chain(l.Var())
				break
			}
		}
		return
	}
	s.first = Conflict{Found: true, A: s.cur.a, B: s.cur.b, ChainA: s.Chain(s.cur.a), ChainB: s.Chain(s.cur.b)}
}

// Chain returns the variables that led to v being installed, from a root
// (assumption or level-0 fact) to v: each one required the next.
func (s *Solver) Chain(v int32) []int32 {
	var rev []int32
	for steps := 0; v >= 0 && steps < len(s.assign); steps++ {
		rev = append(rev, v)
		if s.assign[v] != 1 {
			break
		}
		r := s.reason[v]
		next := int32(-1)
		switch {
		case r == -1 && s.level[v] > 0:
			next = s.decided[v]
		case r >= 0:
			st := s.cstart[r]
			for _, l := range s.lits[st : st+s.clen[r]] {
				if l.IsNeg() && l.Var() != v && s.assign[l.Var()] == 1 {
					next = l.Var()
					break
				}
			}
		}
		if next == v {
			break
		}
		v = next
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// SetForbidden makes the variables false in every later Solve (replacing
// the previous set). It recomputes the level-0 facts, which costs one pass
// of unit propagation over the Problem.
func (s *Solver) SetForbidden(vars []int32) {
	s.forbidden = s.forbidden[:0]
	for _, v := range vars {
		s.forbidden = append(s.forbidden, Neg(v))
	}
	s.reset()
	for _, l := range s.trail {
		s.assign[l.Var()] = 0
	}
	s.trail = s.trail[:0]
	s.qhead = 0
	s.broken = false
	for _, u := range s.p.units {
		if !s.enqueue(u, -1) {
			s.broken = true
		}
	}
	for _, u := range s.forbidden {
		if !s.enqueue(u, -1) {
			s.broken = true
		}
	}
	if s.propagate() {
		s.broken = true
	}
	s.baseline = len(s.trail)
	s.baseUnsat = false
}

// SetAvoid marks variables (avoid[v]) that decisions choose only when a
// requirement has no other unassigned alternative: a preference, not a
// constraint. The slice is read, not copied; nil clears it.
func (s *Solver) SetAvoid(avoid []bool) {
	s.avoid = avoid
	s.reset()
}

// Model returns the variables that are true, in the order they were set.
func (s *Solver) Model() []int32 {
	var out []int32
	for _, l := range s.trail {
		if !l.IsNeg() {
			out = append(out, l.Var())
		}
	}
	return out
}

// FirstConflict returns the first conflict met by the last Solve, which
// callers use to explain a false result.
func (s *Solver) FirstConflict() Conflict { return s.first }

// Reason returns the clause that forced v in the current assignment as
// alternatives, or nil for decisions, assumptions and level-0 facts with
// no recorded reason. For a variable forced false by a conflict with w it
// returns (nil, w).
func (s *Solver) Reason(v int32) ([]Lit, int32) {
	r := s.reason[v]
	if s.assign[v] == 0 || r == -1 {
		return nil, -1
	}
	if r >= 0 {
		st := s.cstart[r]
		return s.lits[st : st+s.clen[r]], -1
	}
	return nil, -(r + 2)
}

// ResetBase undoes the last Solve, leaving only the permanent level-0
// facts, so that Value reports what holds in every installation.
func (s *Solver) ResetBase() { s.reset() }
