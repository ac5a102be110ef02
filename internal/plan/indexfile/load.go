package indexfile

import (
	"bytes"
	"runtime"
	"sync"

	"github.com/packyard/packyard/internal/plan"
)

// ReadPackages reads a Packages file (optionally .xz or .gz) into binary
// packages, parsing on all CPUs.
func ReadPackages(path string) ([]*plan.BinaryPackage, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parallel(data, plan.NewBinaryPackage)
}

// ReadSources reads a Sources file (optionally .xz or .gz) into source
// packages, parsing on all CPUs.
func ReadSources(path string) ([]*plan.SourcePackage, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parallel(data, plan.NewSourcePackage)
}

// parallel splits data at paragraph boundaries into one chunk per CPU and
// converts every paragraph with conv, keeping file order.
func parallel[T any](data []byte, conv func(plan.Fields) (T, error)) ([]T, error) {
	n := runtime.GOMAXPROCS(0)
	var chunks [][]byte
	for len(data) > 0 {
		size := len(data) / n
		if n == 1 || size < 1<<16 {
			chunks = append(chunks, data)
			break
		}
		cut := bytes.Index(data[size:], []byte("\n\n"))
		if cut < 0 {
			chunks = append(chunks, data)
			break
		}
		cut += size + 2
		chunks = append(chunks, data[:cut])
		data = data[cut:]
		n--
	}
	out := make([][]T, len(chunks))
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	for i, c := range chunks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = Scan(c, func(s *Stanza) error {
				v, err := conv(s)
				if err != nil {
					return err
				}
				out[i] = append(out[i], v)
				return nil
			})
		}()
	}
	wg.Wait()
	var all []T
	for i := range chunks {
		if errs[i] != nil {
			return nil, errs[i]
		}
		all = append(all, out[i]...)
	}
	return all, nil
}
