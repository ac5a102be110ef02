package build

import (
	"fmt"
	"strings"
	"time"
)

// Phase is one timed part of a build, in the order the parts ran: for the
// dpkg builder "session" (overlay mount), "stage" (source files into
// /build), "extract" (dpkg-source), "build-deps" (layer lookup, or apt
// and a new layer), "build" (dpkg-buildpackage), "collect" (artifacts to
// OutDir) and "close" (session teardown).
type Phase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// phaseClock times consecutive phases: each mark ends the phase that ran
// since the previous mark (or since the clock started).
type phaseClock struct {
	start, last time.Time
	phases      []Phase
}

func newPhaseClock() *phaseClock {
	now := time.Now()
	return &phaseClock{start: now, last: now}
}

// mark ends the running phase under name.
func (c *phaseClock) mark(name string) {
	if c == nil {
		return
	}
	now := time.Now()
	c.phases = append(c.phases, Phase{Name: name, Seconds: now.Sub(c.last).Seconds()})
	c.last = now
}

// list returns the phases so far.
func (c *phaseClock) list() []Phase {
	if c == nil {
		return nil
	}
	return append([]Phase(nil), c.phases...)
}

// total is the time since the clock started.
func (c *phaseClock) total() time.Duration { return time.Since(c.start) }

// FormatPhases renders phases for a log line, under a second in
// milliseconds: "session 21 ms, stage 2 ms, ..., build 41.20 s".
func FormatPhases(phases []Phase) string {
	parts := make([]string, len(phases))
	for i, p := range phases {
		if p.Seconds < 1 {
			parts[i] = fmt.Sprintf("%s %.0f ms", p.Name, p.Seconds*1000)
		} else {
			parts[i] = fmt.Sprintf("%s %.2f s", p.Name, p.Seconds)
		}
	}
	return strings.Join(parts, ", ")
}

// PhaseSeconds returns the seconds of the phase called name (0 when absent;
// summed when it ran more than once).
func PhaseSeconds(phases []Phase, name string) float64 {
	var s float64
	for _, p := range phases {
		if p.Name == name {
			s += p.Seconds
		}
	}
	return s
}

// phaseEvent is the run record's view of phases: name -> seconds, rounded
// to milliseconds, plus their order.
func phaseEvent(phases []Phase, total time.Duration) map[string]any {
	secs := map[string]any{}
	order := make([]string, len(phases))
	for i, p := range phases {
		secs[p.Name] = float64(int64(p.Seconds*1000+0.5)) / 1000
		order[i] = p.Name
	}
	return map[string]any{"phases": secs, "order": order, "total_seconds": total.Seconds()}
}
