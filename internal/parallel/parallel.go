// Package parallel runs the iterations of a loop on every CPU.
package parallel

import (
	"runtime"
	"sync"
)

// For calls fn(i) for every i in [0, n) on up to GOMAXPROCS goroutines,
// each taking every workers-th item, and returns when all have returned.
// grain is the fewest items worth a goroutine of their own (1 for items
// that each take long, such as compressing a chunk; about 1,024 for cheap
// ones): n items get at most n/grain+1 goroutines. A goroutine stops at its
// first error; the error of the lowest-numbered goroutine that failed is
// returned.
func For(n, grain int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n/max(grain, 1)+1, n)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if err := fn(i); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
