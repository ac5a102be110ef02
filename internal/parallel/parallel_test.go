package parallel

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
)

// TestFor: every item runs exactly once, on no more goroutines than grain
// allows, and an error stops its goroutine and is returned.
func TestFor(t *testing.T) {
	for _, tc := range []struct{ n, grain int }{{0, 1}, {1, 1}, {5, 1}, {1000, 1}, {3000, 1024}} {
		counts := make([]int32, tc.n)
		if err := For(tc.n, tc.grain, func(i int) error { atomic.AddInt32(&counts[i], 1); return nil }); err != nil {
			t.Fatalf("For(%d, %d) = %v", tc.n, tc.grain, err)
		}
		for i, c := range counts {
			if c != 1 {
				t.Fatalf("For(%d, %d) ran item %d %d times", tc.n, tc.grain, i, c)
			}
		}
	}
	prev := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(prev)
	var live, most atomic.Int32
	block := make(chan struct{})
	go func() {
		for live.Load() < 2 {
			runtime.Gosched()
		}
		close(block)
	}()
	For(2000, 1024, func(i int) error {
		if n := live.Add(1); n > most.Load() {
			most.Store(n)
		}
		<-block
		live.Add(-1)
		return nil
	})
	if most.Load() != 2 {
		t.Errorf("2,000 items of grain 1,024 ran on %d goroutines at once; want 2", most.Load())
	}
	bad := errors.New("bad")
	var after atomic.Int32
	err := For(100, 1, func(i int) error {
		if i >= 8 && i%4 == 0 {
			after.Add(1)
		}
		if i == 4 {
			return bad
		}
		return nil
	})
	if !errors.Is(err, bad) {
		t.Errorf("For = %v; want the item's error", err)
	}
	// On 4 goroutines, item 4's goroutine also has 8, 12, ...: it stops.
	if after.Load() != 0 {
		t.Errorf("%d items ran after their goroutine's error", after.Load())
	}
}
