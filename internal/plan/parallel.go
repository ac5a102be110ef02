package plan

import (
	"runtime"
	"sync"
)

// forEachParallel calls fn(i) for every i in [0, n), on as many goroutines
// as there are CPUs (one per 1,024 items at most), each taking every
// workers-th item. A goroutine stops at its first error; the error of the
// lowest-numbered goroutine that failed is returned.
func forEachParallel(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n/1024+1)
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
