package plan

import (
	"errors"
	"fmt"
	"strings"
)

// ErrCycle is matched (errors.Is) by the error Plan returns when the build
// order has a cycle that no archive binary breaks; the error is a
// *CycleError with the cycles.
var ErrCycle = errors.New("build-dependency cycle")

// CycleError lists the cycles of a plan.
type CycleError struct {
	Cycles []Cycle
}

func (e *CycleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d build-dependency cycle(s)", len(e.Cycles))
	for _, c := range e.Cycles {
		b.WriteString(": ")
		b.WriteString(c.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrCycle) true.
func (e *CycleError) Is(target error) bool { return target == ErrCycle }

// MissingError lists build-dependencies that neither the binary indexes nor
// any configured source archive can satisfy.
type MissingError struct {
	Missing []Missing
}

func (e *MissingError) Error() string {
	var parts []string
	for _, m := range e.Missing {
		parts = append(parts, m.String())
	}
	return "unsatisfiable build-dependencies: " + strings.Join(parts, "; ")
}

// Missing is one unsatisfiable build-dependency of a plan item: Reason says
// what fails, Chain is the path of packages from the source that needs it.
type Missing struct {
	Source  string `json:"source"`
	Version string `json:"version"`
	Reason  Reason `json:"reason"`
}

func (m Missing) String() string {
	return fmt.Sprintf("%s %s: %s", m.Source, m.Version, m.Reason.String())
}

// String formats a reason on one line.
func (r Reason) String() string {
	switch r.Kind {
	case "missing":
		return fmt.Sprintf("%s has no installable candidate (needed by %s)", r.Relation, strings.Join(r.Chain, " -> "))
	case "conflict":
		if len(r.Packages) == 2 && len(r.Chains) == 2 {
			return fmt.Sprintf("%s conflicts with %s (%s; %s)", r.Packages[0], r.Packages[1],
				strings.Join(r.Chains[0], " -> "), strings.Join(r.Chains[1], " -> "))
		}
		if r.Relation != "" {
			return fmt.Sprintf("no alternative of %s can be installed (needed by %s)", r.Relation, strings.Join(r.Chain, " -> "))
		}
	}
	return r.Kind + " " + strings.Join(r.Chain, " -> ")
}
