package plan

import (
	"runtime"
	"sync"
)

// BinaryPackages converts Packages paragraphs (for example a pantry index's
// deb822 paragraphs) to binary packages on all CPUs, keeping their order.
// It fails on the first paragraph NewBinaryPackage rejects.
func BinaryPackages[F Fields](paragraphs []F) ([]*BinaryPackage, error) {
	return convertAll(paragraphs, NewBinaryPackage)
}

// SourcePackages converts Sources paragraphs to source packages on all
// CPUs, keeping their order. It fails on the first paragraph
// NewSourcePackage rejects.
func SourcePackages[F Fields](paragraphs []F) ([]*SourcePackage, error) {
	return convertAll(paragraphs, NewSourcePackage)
}

func convertAll[F Fields, T any](in []F, conv func(Fields) (T, error)) ([]T, error) {
	out := make([]T, len(in))
	workers := min(runtime.GOMAXPROCS(0), len(in)/1024+1)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(in); i += workers {
				v, err := conv(in[i])
				if err != nil {
					errs[w] = err
					return
				}
				out[i] = v
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
