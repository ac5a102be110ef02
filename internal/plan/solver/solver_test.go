package solver

import (
	"math/rand"
	"testing"
)

// instance is a random package universe: requirements and conflicts over n
// variables; variable 0 is the root that every Solve assumes.
type instance struct {
	n     int
	reqs  [][2][]int32 // {head}, alts
	confs [][2]int32
	units []Lit
}

func randomInstance(r *rand.Rand, n int) instance {
	in := instance{n: n}
	for v := 0; v < n; v++ {
		for k := r.Intn(3); k > 0; k-- {
			alts := make([]int32, r.Intn(3))
			for i := range alts {
				alts[i] = int32(r.Intn(n))
			}
			in.reqs = append(in.reqs, [2][]int32{{int32(v)}, alts})
		}
	}
	for k := r.Intn(n); k > 0; k-- {
		in.confs = append(in.confs, [2]int32{int32(r.Intn(n)), int32(r.Intn(n))})
	}
	if r.Intn(4) == 0 {
		in.units = append(in.units, Neg(int32(1+r.Intn(n-1))))
	}
	return in
}

func (in instance) problem() *Problem {
	b := NewBuilder(in.n)
	for _, rq := range in.reqs {
		b.Require(rq[0][0], rq[1])
	}
	for _, c := range in.confs {
		b.Conflict(c[0], c[1])
	}
	for _, u := range in.units {
		b.Unit(u)
	}
	return b.Build()
}

// satisfies checks a total assignment against the instance plus a temporary
// requirement set on variable tv.
func (in instance) satisfies(val []bool, temp Temp) bool {
	for _, rq := range in.reqs {
		v, alts := rq[0][0], rq[1]
		if !val[v] {
			continue
		}
		ok := false
		for _, a := range alts {
			if a == v || val[a] {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	for _, c := range in.confs {
		if c[0] != c[1] && val[c[0]] && val[c[1]] {
			return false
		}
	}
	for _, u := range in.units {
		if val[u.Var()] == u.IsNeg() {
			return false
		}
	}
	if val[temp.Var] {
		for _, alts := range temp.Requires {
			ok := false
			for _, a := range alts {
				if val[a] {
					ok = true
				}
			}
			if !ok {
				return false
			}
		}
		for _, q := range temp.Conflicts {
			if q != temp.Var && val[q] {
				return false
			}
		}
	}
	return true
}

func bruteForce(in instance, base, lit int32, temp Temp) bool {
	val := make([]bool, in.n)
	for m := 0; m < 1<<in.n; m++ {
		for v := range val {
			val[v] = m&(1<<v) != 0
		}
		if val[base] && val[lit] && in.satisfies(val, temp) {
			return true
		}
	}
	return false
}

// TestSolveMatchesBruteForce compares Solve with exhaustive search on
// thousands of random small instances, checking every model it returns, with
// the default compaction and with compaction at every reset.
func TestSolveMatchesBruteForce(t *testing.T) {
	for _, compact := range []int{0, 1} {
		solveMatchesBruteForce(t, compact)
	}
}

func solveMatchesBruteForce(t *testing.T, compact int) {
	r := rand.New(rand.NewSource(1))
	for iter := 0; iter < 3000; iter++ {
		n := 3 + r.Intn(9)
		in := randomInstance(r, n)
		s := New(in.problem())
		s.SetCompactAfter(compact)
		s.SetBase([]Lit{Pos(0)})
		for q := 0; q < 4; q++ {
			tv := int32(r.Intn(n))
			temp := Temp{Var: tv}
			for k := r.Intn(3); k > 0; k-- {
				alts := []int32{int32(r.Intn(n))}
				if r.Intn(2) == 0 {
					alts = append(alts, int32(r.Intn(n)))
				}
				temp.Requires = append(temp.Requires, alts)
			}
			if r.Intn(2) == 0 {
				temp.Conflicts = []int32{int32(r.Intn(n))}
			}
			want := bruteForce(in, 0, tv, temp)
			got := s.Solve(Pos(tv), temp)
			if got != want {
				t.Fatalf("compact after %d, instance %d query %d: Solve = %v; brute force = %v\n%+v temp %+v", compact, iter, q, got, want, in, temp)
			}
			if got {
				val := make([]bool, n)
				for _, v := range s.Model() {
					val[v] = true
				}
				if !val[0] || !val[tv] || !in.satisfies(val, temp) {
					t.Fatalf("instance %d query %d: model %v does not satisfy %+v temp %+v", iter, q, s.Model(), in, temp)
				}
			}
		}
	}
}

func TestForbiddenAndAvoid(t *testing.T) {
	// 0 requires 1|2|3; 3 is preferred last.
	b := NewBuilder(4)
	b.Require(0, []int32{1, 2, 3})
	s := New(b.Build())
	s.SetBase([]Lit{Pos(0)})
	if !s.Solve(Pos(0), Temp{Var: 0}) || s.Value(1) != 1 {
		t.Fatalf("Solve picked %v; want the first alternative", s.Model())
	}
	s.SetAvoid([]bool{false, true, false, false})
	if !s.Solve(Pos(0), Temp{Var: 0}) || s.Value(2) != 1 || s.Value(1) == 1 {
		t.Fatalf("Solve with 1 avoided picked %v; want 2", s.Model())
	}
	s.SetForbidden([]int32{2, 3})
	if !s.Solve(Pos(0), Temp{Var: 0}) || s.Value(1) != 1 {
		t.Fatalf("Solve with 2, 3 forbidden picked %v; want the avoided 1", s.Model())
	}
	s.SetForbidden([]int32{1, 2, 3})
	if s.Solve(Pos(0), Temp{Var: 0}) {
		t.Fatalf("Solve with every alternative forbidden = true")
	}
	s.SetForbidden(nil)
	if !s.Solve(Pos(0), Temp{Var: 0}) {
		t.Fatalf("Solve after clearing forbidden = false")
	}
}
