package solver

// Solver answers installability questions over one Problem. It is not safe
// for concurrent use; create one per goroutine (they share the Problem).
type Solver struct {
	p *Problem

	lits   []Lit   // clause literals, mutable order (watches)
	cstart []int32 // per clause
	clen   []int32
	dead   []bool
	nBase  int32 // clauses [0,nBase) come from the Problem
	// clauses [tempStart,len) were added by the current Solve
	tempStart int32
	baseLit   int
	// compactAfter: compact when dead clauses hold more literals than
	// this; 0 means half the Problem's plus 64k (SetCompactAfter).
	compactAfter int

	watches [][]watch // by literal: clauses watching it

	assign   []int8 // per variable: 0 unassigned, 1 true, -1 false
	level    []int32
	reason   []int32 // -1 none; >=0 clause; <= -2: conflict with variable -(r+2)
	trail    []Lit
	trailLim []int32
	qhead    int
	baseline int // trail length of the permanent level-0 facts
	broken   bool

	tempVar int32   // variable with temporary requirements, or -1
	tempReq [][]Lit // its requirements for one Solve, original order

	// The base: a model of the base assumptions kept as a prefix of the
	// trail (levels 1..baseLevel), so that each Solve only adds its own
	// part. baseLevel < 0 when there is no valid base.
	baseAssume []Lit
	baseLevel  int32
	baseTrail  int
	baseUnsat  bool

	forbidden []Lit  // extra level-0 facts (SetForbidden)
	avoid     []bool // per variable: decide only when no other choice (SetAvoid)
	scanPos   int
	seen      []bool
	decided   []int32 // per variable: the variable whose requirement a decision satisfied
	learnt    []Lit
	scratch   []Lit
	cur       confl
	first     Conflict

	// Stats.
	Conflicts  int
	Decisions  int
	Fallbacks  int // Solves that needed a full search
	BaseBuilds int
}

type watch struct {
	c       int32
	blocker Lit
}

// Conflict describes the first conflict met by the last Solve: either a
// requirement (Clause) with all alternatives false, or two variables (A, B)
// that conflict and are both true.
type Conflict struct {
	Found  bool
	Clause []Lit
	A, B   int32
	// ChainA and ChainB lead from a root (an assumption or level-0 fact)
	// to A and B; for a Clause conflict, ChainA leads to the variable whose
	// requirement failed.
	ChainA, ChainB []int32
}

// Temp is a set of constraints that hold for one Solve only.
type Temp struct {
	Var       int32
	Requires  [][]int32
	Conflicts []int32
}

// New returns a Solver for p with the Problem's units propagated.
func New(p *Problem) *Solver {
	n := p.numVars
	s := &Solver{
		p:         p,
		lits:      append([]Lit(nil), p.lits...),
		assign:    make([]int8, n),
		level:     make([]int32, n),
		reason:    make([]int32, n),
		seen:      make([]bool, n),
		decided:   make([]int32, n),
		watches:   make([][]watch, 2*int(n)),
		tempVar:   -1,
		baseLevel: -1,
	}
	nc := int32(len(p.starts) - 1)
	s.cstart = make([]int32, nc)
	s.clen = make([]int32, nc)
	s.dead = make([]bool, nc)
	for c := int32(0); c < nc; c++ {
		s.cstart[c] = p.starts[c]
		s.clen[c] = p.starts[c+1] - p.starts[c]
	}
	s.nBase = nc
	s.tempStart = nc
	s.baseLit = len(s.lits)
	s.attachAll()
	for _, u := range p.units {
		if !s.enqueue(u, -1) {
			s.broken = true
		}
	}
	if s.propagate() {
		s.broken = true
	}
	s.baseline = len(s.trail)
	return s
}

func (s *Solver) attachAll() {
	for i := range s.watches {
		s.watches[i] = s.watches[i][:0]
	}
	for c := int32(0); c < int32(len(s.cstart)); c++ {
		if !s.dead[c] {
			s.attach(c)
		}
	}
}

func (s *Solver) attach(c int32) {
	l := s.lits[s.cstart[c]:]
	s.watches[l[0]] = append(s.watches[l[0]], watch{c, l[1]})
	s.watches[l[1]] = append(s.watches[l[1]], watch{c, l[0]})
}

func (s *Solver) value(l Lit) int8 {
	a := s.assign[l>>1]
	if l&1 == 1 {
		return -a
	}
	return a
}

// Value reports the current value of v: 1 true, -1 false, 0 unassigned.
func (s *Solver) Value(v int32) int8 { return s.assign[v] }

func (s *Solver) decisionLevel() int32 { return int32(len(s.trailLim)) }

func (s *Solver) enqueue(l Lit, reason int32) bool {
	switch s.value(l) {
	case 1:
		return true
	case -1:
		return false
	}
	v := l.Var()
	if l.IsNeg() {
		s.assign[v] = -1
	} else {
		s.assign[v] = 1
	}
	s.level[v] = s.decisionLevel()
	s.reason[v] = reason
	s.trail = append(s.trail, l)
	return true
}

// propagate runs unit propagation; it reports whether a conflict was found,
// leaving it in s.cur.
func (s *Solver) propagate() bool {
	for s.qhead < len(s.trail) {
		p := s.trail[s.qhead]
		s.qhead++
		if !p.IsNeg() {
			v := p.Var()
			for _, q := range s.p.conflicts[v] {
				switch s.assign[q] {
				case 1:
					s.setConflictPair(v, q)
					return true
				case 0:
					s.enqueue(Neg(q), -(v + 2))
				}
			}
		}
		if s.propagateWatches(p.Not()) {
			return true
		}
	}
	return false
}

// confl holds the current conflict: a clause index, or a pair of variables.
type confl struct {
	c    int32
	a, b int32
}

func (s *Solver) setConflictPair(a, b int32) { s.cur = confl{c: -1, a: a, b: b} }

func (s *Solver) propagateWatches(f Lit) bool {
	ws := s.watches[f]
	i, j := 0, 0
	for i < len(ws) {
		w := ws[i]
		i++
		if s.dead[w.c] {
			continue
		}
		if s.value(w.blocker) == 1 {
			ws[j] = w
			j++
			continue
		}
		st := s.cstart[w.c]
		cl := s.lits[st : st+s.clen[w.c]]
		if cl[0] == f {
			cl[0], cl[1] = cl[1], cl[0]
		}
		first := cl[0]
		if first != w.blocker && s.value(first) == 1 {
			ws[j] = watch{w.c, first}
			j++
			continue
		}
		found := false
		for k := 2; k < len(cl); k++ {
			if s.value(cl[k]) != -1 {
				cl[1], cl[k] = cl[k], cl[1]
				s.watches[cl[1]] = append(s.watches[cl[1]], watch{w.c, first})
				found = true
				break
			}
		}
		if found {
			continue
		}
		ws[j] = watch{w.c, first}
		j++
		if s.value(first) == -1 {
			for i < len(ws) {
				ws[j] = ws[i]
				i++
				j++
			}
			s.watches[f] = ws[:j]
			s.cur = confl{c: w.c, a: -1, b: -1}
			return true
		}
		s.enqueue(first, w.c)
	}
	s.watches[f] = ws[:j]
	return false
}

// reasonLits appends the literals of the clause behind reason code r for
// variable v (r >= 0: a clause; r <= -2: the conflict of v with -(r+2)).
func (s *Solver) reasonLits(dst []Lit, v, r int32) []Lit {
	if r >= 0 {
		st := s.cstart[r]
		return append(dst, s.lits[st:st+s.clen[r]]...)
	}
	return append(dst, Neg(v), Neg(-(r + 2)))
}

func (s *Solver) conflictLits(dst []Lit) []Lit {
	if s.cur.c >= 0 {
		st := s.cstart[s.cur.c]
		return append(dst, s.lits[st:st+s.clen[s.cur.c]]...)
	}
	return append(dst, Neg(s.cur.a), Neg(s.cur.b))
}

// analyze derives a 1-UIP learned clause from s.cur. It returns the clause
// (asserting literal first, a literal of the backjump level second) and the
// backjump level.
func (s *Solver) analyze() ([]Lit, int32) {
	s.learnt = append(s.learnt[:0], 0)
	pathC := 0
	var p Lit = -1
	idx := len(s.trail) - 1
	lits := s.conflictLits(s.scratch[:0])
	dl := s.decisionLevel()
	for {
		for _, q := range lits {
			if q == p {
				continue
			}
			v := q.Var()
			if s.seen[v] || s.level[v] == 0 {
				continue
			}
			s.seen[v] = true
			if s.level[v] >= dl {
				pathC++
			} else {
				s.learnt = append(s.learnt, q)
			}
		}
		for !s.seen[s.trail[idx].Var()] {
			idx--
		}
		p = s.trail[idx]
		idx--
		v := p.Var()
		s.seen[v] = false
		pathC--
		if pathC == 0 {
			break
		}
		lits = s.reasonLits(lits[:0], v, s.reason[v])
	}
	s.scratch = lits[:0]
	s.learnt[0] = p.Not()
	bt := int32(0)
	for i := 1; i < len(s.learnt); i++ {
		v := s.learnt[i].Var()
		s.seen[v] = false
		if s.level[v] > bt {
			bt = s.level[v]
			s.learnt[1], s.learnt[i] = s.learnt[i], s.learnt[1]
		}
	}
	return s.learnt, bt
}

func (s *Solver) backtrack(lvl int32) {
	if s.decisionLevel() <= lvl {
		return
	}
	lim := int(s.trailLim[lvl])
	for i := len(s.trail) - 1; i >= lim; i-- {
		s.assign[s.trail[i].Var()] = 0
	}
	s.trail = s.trail[:lim]
	s.trailLim = s.trailLim[:lvl]
	s.qhead = lim
	// A requirement scanned earlier may have been satisfied by an
	// assignment just undone: rescan, from the end of the base when it is
	// intact (its requirements are satisfied within its own levels).
	if s.baseLevel >= 0 && lvl >= s.baseLevel {
		s.scanPos = min(s.scanPos, s.baseTrail)
	} else {
		s.scanPos = 0
	}
}

func (s *Solver) addClause(lits []Lit) int32 {
	c := int32(len(s.cstart))
	s.cstart = append(s.cstart, int32(len(s.lits)))
	s.clen = append(s.clen, int32(len(lits)))
	s.dead = append(s.dead, false)
	s.lits = append(s.lits, lits...)
	return c
}

// reset undoes everything the previous Solve added: assignments above the
// permanent level-0 facts, temporary and learned clauses.
func (s *Solver) reset() {
	s.backtrack(0)
	for i := len(s.trail) - 1; i >= s.baseline; i-- {
		s.assign[s.trail[i].Var()] = 0
	}
	s.trail = s.trail[:s.baseline]
	s.qhead = s.baseline
	s.scanPos = 0
	for c := s.tempStart; c < int32(len(s.dead)); c++ {
		s.dead[c] = true
	}
	s.tempStart = int32(len(s.dead))
	s.tempVar, s.tempReq = -1, s.tempReq[:0]
	s.baseLevel = -1
	s.first = Conflict{}
	limit := s.compactAfter
	if limit == 0 {
		limit = s.baseLit/2 + 1<<16
	}
	if len(s.lits)-s.baseLit > limit {
		s.compact()
	}
}

// SetCompactAfter makes the solver drop dead clauses (and the clauses it
// learned) once they hold more than n literals, instead of after half as
// many as the Problem has plus 64k (n == 0). Compacting rebuilds the
// watches, which can change the order of propagation and so which model a
// later Solve finds: solvers that must answer alike over Problems of
// different sizes use the same n.
func (s *Solver) SetCompactAfter(n int) { s.compactAfter = n }

// compact drops dead clauses and rebuilds the watches, then re-propagates the
// level-0 facts so that the watch invariants hold again.
func (s *Solver) compact() {
	s.lits = s.lits[:s.baseLit]
	s.cstart = s.cstart[:s.nBase]
	s.clen = s.clen[:s.nBase]
	s.dead = s.dead[:s.nBase]
	s.tempStart = s.nBase
	s.attachAll()
	s.qhead = 0
	if s.propagate() {
		s.broken = true
	}
}
