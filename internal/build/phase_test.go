package build

import (
	"testing"
	"time"
)

func TestFormatPhases(t *testing.T) {
	tests := []struct {
		phases []Phase
		want   string
	}{
		{nil, ""},
		{[]Phase{{"session", 0.0214}}, "session 21 ms"},
		{[]Phase{{"extract", 0.356}, {"build", 41.204}}, "extract 356 ms, build 41.20 s"},
	}
	for _, tt := range tests {
		if got := FormatPhases(tt.phases); got != tt.want {
			t.Errorf("FormatPhases(%v) = %q; want %q", tt.phases, got, tt.want)
		}
	}
}

func TestPhaseSeconds(t *testing.T) {
	phases := []Phase{{"build-deps", 1}, {"build", 30}, {"build-deps", 2}}
	for name, want := range map[string]float64{"build-deps": 3, "build": 30, "close": 0} {
		if got := PhaseSeconds(phases, name); got != want {
			t.Errorf("PhaseSeconds(%q) = %v; want %v", name, got, want)
		}
	}
}

func TestPhaseClock(t *testing.T) {
	c := newPhaseClock()
	time.Sleep(5 * time.Millisecond)
	c.mark("one")
	c.mark("two")
	got := c.list()
	if len(got) != 2 || got[0].Name != "one" || got[1].Name != "two" {
		t.Fatalf("phases = %v; want one, two", got)
	}
	if got[0].Seconds < 0.005 || got[1].Seconds > got[0].Seconds {
		t.Errorf("phases = %v; want one >= 5 ms and two shorter", got)
	}
	if total := c.total().Seconds(); total < got[0].Seconds+got[1].Seconds {
		t.Errorf("total %v s < sum of phases %v", total, got)
	}
	var nilClock *phaseClock
	nilClock.mark("ignored") // must not panic
	if nilClock.list() != nil {
		t.Errorf("nil clock lists phases")
	}
	ev := phaseEvent([]Phase{{"build", 1.23456}}, 2*time.Second)
	if secs := ev["phases"].(map[string]any)["build"]; secs != 1.235 {
		t.Errorf("phaseEvent build = %v; want 1.235", secs)
	}
}
