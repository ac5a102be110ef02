package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestInFanoutConcurrent creates files in a missing fanout directory from
// many goroutines at once: every creation must succeed, whichever
// goroutine makes the directory.
func TestInFanoutConcurrent(t *testing.T) {
	for round := 0; round < 50; round++ {
		dir := filepath.Join(t.TempDir(), "ab")
		ss := newSyncSet()
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for g := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := filepath.Join(dir, fmt.Sprint(g))
				errs[g] = inFanout(dir, ss, func() error { return os.WriteFile(p, nil, 0o644) })
			}()
		}
		wg.Wait()
		for g, err := range errs {
			if err != nil {
				t.Fatalf("round %d, goroutine %d: inFanout = %v", round, g, err)
			}
		}
	}
}
