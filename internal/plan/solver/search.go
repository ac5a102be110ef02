package solver

// SetBase makes assumptions the base of every later Solve: they are solved
// once to a model that is kept, and each Solve extends it instead of
// starting over (falling back to a full search when the extension needs a
// different base). It reports whether the base assumptions are satisfiable.
func (s *Solver) SetBase(assumptions []Lit) bool {
	s.baseAssume = append(s.baseAssume[:0], assumptions...)
	s.baseUnsat = !s.buildBase()
	return !s.baseUnsat
}

func (s *Solver) buildBase() bool {
	s.BaseBuilds++
	s.reset()
	if s.broken {
		return false
	}
	if s.search(s.baseAssume, -1) != sat {
		s.baseLevel = -1
		return false
	}
	s.baseLevel = s.decisionLevel()
	s.baseTrail = len(s.trail)
	s.tempStart = int32(len(s.dead))
	return true
}

// Solve reports whether there is an assignment that makes the base
// assumptions (see SetBase) and lit true and satisfies the Problem plus the
// temporary constraints of temp (which should be on lit's variable). After a
// true result, Model and Value describe the installation set until the next
// Solve.
func (s *Solver) Solve(lit Lit, temp Temp) bool {
	if s.baseLevel < 0 && !s.baseUnsat {
		s.baseUnsat = !s.buildBase()
	}
	if s.baseLevel >= 0 {
		s.backtrack(s.baseLevel)
		if s.assign[temp.Var] != 0 {
			// The temporary constraints would apply to a variable the
			// base already decided: search in full instead.
			s.baseLevel = -1
		}
	}
	if s.baseLevel >= 0 {
		for c := s.tempStart; c < int32(len(s.dead)); c++ {
			s.dead[c] = true
		}
		s.tempStart = int32(len(s.dead))
		s.scanPos = s.baseTrail
		s.first = Conflict{}
		s.tempVar, s.tempReq = -1, s.tempReq[:0]
		if s.addTemp(temp) {
			switch s.search(s.baseAssume, lit) {
			case sat:
				return true
			case unsat:
				s.baseLevel = -1
				return false
			}
		}
	}
	// Full search from level 0 with the base assumptions and lit as
	// assumptions; the base is rebuilt by the next Solve.
	s.Fallbacks++
	first := s.first
	s.reset()
	if s.broken {
		return false
	}
	if !s.addTemp(temp) {
		return false
	}
	if s.assign[temp.Var] != 0 {
		// Fixed at level 0: propagate everything again so that the new
		// clauses are seen.
		s.qhead = 0
	}
	if first.Found {
		s.first = first
	}
	return s.search(append(append([]Lit(nil), s.baseAssume...), lit), -1) == sat
}

// addTemp installs temporary constraints; it reports false when one of the
// requirements has no alternative at all.
func (s *Solver) addTemp(t Temp) bool {
	s.tempVar = t.Var
	for _, alts := range t.Requires {
		lits := make([]Lit, 0, len(alts)+1)
		lits = append(lits, Neg(t.Var))
		for _, a := range alts {
			lits = append(lits, Pos(a))
		}
		s.tempReq = append(s.tempReq, lits)
		if len(alts) == 0 {
			s.first = Conflict{Found: true, Clause: lits, A: t.Var, ChainA: []int32{t.Var}}
			return false
		}
		s.attachNew(s.addClause(lits))
	}
	for _, q := range t.Conflicts {
		if q != t.Var {
			s.attachNew(s.addClause([]Lit{Neg(t.Var), Neg(q)}))
		}
	}
	return true
}

// attachNew watches a clause added while variables are assigned: it moves
// non-false literals to the watched positions first.
func (s *Solver) attachNew(c int32) {
	st := s.cstart[c]
	cl := s.lits[st : st+s.clen[c]]
	for w := 0; w < 2 && w < len(cl); w++ {
		for k := w; k < len(cl); k++ {
			if s.value(cl[k]) != -1 {
				cl[w], cl[k] = cl[k], cl[w]
				break
			}
		}
	}
	s.attach(c)
}

type result int

const (
	unsat result = iota
	sat
	unknown // the sticky literal became false above level 0: retry in full
)

func (s *Solver) search(assumptions []Lit, sticky Lit) result {
	for {
		if s.propagate() {
			s.Conflicts++
			s.recordFirst()
			if s.decisionLevel() == 0 {
				return unsat
			}
			learnt, bt := s.analyze()
			s.backtrack(bt)
			if len(learnt) == 1 {
				s.enqueue(learnt[0], -1)
			} else {
				c := s.addClause(learnt)
				s.attach(c)
				s.enqueue(learnt[0], c)
			}
			continue
		}
		dl := int(s.decisionLevel())
		if dl < len(assumptions) {
			a := assumptions[dl]
			switch s.value(a) {
			case 1:
				s.trailLim = append(s.trailLim, int32(len(s.trail)))
			case -1:
				return unsat
			default:
				s.trailLim = append(s.trailLim, int32(len(s.trail)))
				s.decided[a.Var()] = -1
				s.enqueue(a, -1)
			}
			continue
		}
		if sticky >= 0 {
			switch s.value(sticky) {
			case -1:
				return unknown
			case 0:
				s.trailLim = append(s.trailLim, int32(len(s.trail)))
				s.decided[sticky.Var()] = -1
				s.enqueue(sticky, -1)
				continue
			}
		}
		next, parent, ok := s.pickBranch()
		if !ok {
			return sat
		}
		s.Decisions++
		s.decided[next.Var()] = parent
		s.trailLim = append(s.trailLim, int32(len(s.trail)))
		s.enqueue(next, -1)
	}
}

// pickBranch finds the first installed variable (in trail order) with a
// requirement none of whose alternatives is installed, and returns its
// first unassigned alternative.
func (s *Solver) pickBranch() (Lit, int32, bool) {
	for ; s.scanPos < len(s.trail); s.scanPos++ {
		l := s.trail[s.scanPos]
		if l.IsNeg() {
			continue
		}
		v := l.Var()
		for _, c := range s.p.requires[v] {
			if lit, open := s.open(s.p.lits[s.p.starts[c]+1 : s.p.starts[c+1]]); open {
				return lit, v, true
			}
		}
		if v == s.tempVar {
			for _, cl := range s.tempReq {
				if lit, open := s.open(cl[1:]); open {
					return lit, v, true
				}
			}
		}
	}
	return 0, -1, false
}

func (s *Solver) open(alts []Lit) (Lit, bool) {
	var cand, avoided Lit = -1, -1
	for _, a := range alts {
		switch s.value(a) {
		case 1:
			return 0, false
		case 0:
			if s.avoid != nil && s.avoid[a.Var()] {
				if avoided < 0 {
					avoided = a
				}
			} else if cand < 0 {
				cand = a
			}
		}
	}
	if cand < 0 {
		cand = avoided
	}
	if cand < 0 {
		return 0, false
	}
	return cand, true
}
