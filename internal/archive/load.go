package archive

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/packyard/packyard/internal/deb822"
)

// IndexKey names one index: Architecture is "source" for Sources.
type IndexKey struct {
	Archive, Suite, Component, Architecture string
}

// IndexData is one loaded index with its paragraphs in file order.
type IndexData struct {
	IndexKey
	Paragraphs []deb822.Paragraph
}

// Index is the in-memory view of pantry indexes that the planner reads.
type Index struct {
	Sources  []*IndexData // one per archive/suite/component
	Packages []*IndexData // one per archive/suite/component/architecture
}

// Selection picks indexes for LoadIndex; an empty list means all configured.
type Selection struct {
	Archives, Suites, Components, Architectures []string
	// NoSources and NoPackages skip the kind.
	NoSources, NoPackages bool
}

func (s Selection) has(list []string, v string) bool { return len(list) == 0 || contains(list, v) }

// LoadIndex loads the selected Sources and Packages indexes of the
// configured archives, in parallel, with the zero-copy deb822 scanner. A
// selected index missing from the pantry gives an error wrapping
// ErrNotRefreshed.
func (p *Pantry) LoadIndex(sel Selection) (*Index, error) { return p.loadIndex(sel, 0) }

func (p *Pantry) loadIndex(sel Selection, attempt int) (*Index, error) {
	var keys []IndexKey
	for _, a := range p.cfg.Archives {
		if !sel.has(sel.Archives, a.Name) {
			continue
		}
		for _, suite := range a.Suites {
			if !sel.has(sel.Suites, suite) {
				continue
			}
			for _, comp := range a.Components {
				if !sel.has(sel.Components, comp) {
					continue
				}
				if !sel.NoSources {
					keys = append(keys, IndexKey{a.Name, suite, comp, "source"})
				}
				for _, arch := range a.Architectures {
					if !sel.NoPackages && sel.has(sel.Architectures, arch) {
						keys = append(keys, IndexKey{a.Name, suite, comp, arch})
					}
				}
			}
		}
	}
	keys, gens := p.dropAbsent(keys)
	data := make([]*IndexData, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(gens[[2]string{k.Archive, k.Suite}], indexPath(k.Component, k.Architecture))
			ps, err := LoadIndexFile(path)
			if errors.Is(err, os.ErrNotExist) {
				err = fmt.Errorf("%s %s %s: %w (run packyard refresh)", k.Archive, k.Suite, indexPath(k.Component, k.Architecture), ErrNotRefreshed)
			}
			data[i], errs[i] = &IndexData{IndexKey: k, Paragraphs: ps}, err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		if errors.Is(err, ErrNotRefreshed) && attempt < 2 {
			// A concurrent refresh may have removed a generation we had
			// resolved: resolve again.
			return p.loadIndex(sel, attempt+1)
		}
		return nil, err
	}
	idx := &Index{}
	for _, d := range data {
		if d.Architecture == "source" {
			idx.Sources = append(idx.Sources, d)
		} else {
			idx.Packages = append(idx.Packages, d)
		}
	}
	return idx, nil
}

// dropAbsent removes Sources indexes that the pantry records as not
// published by their archive, and resolves each suite's generation once.
func (p *Pantry) dropAbsent(keys []IndexKey) ([]IndexKey, map[[2]string]string) {
	metas := map[[2]string]*SuiteMeta{}
	gens := map[[2]string]string{}
	out := keys[:0]
	for _, k := range keys {
		sk := [2]string{k.Archive, k.Suite}
		m, ok := metas[sk]
		if !ok {
			gens[sk] = p.generation(k.Archive, k.Suite)
			m, _ = readMeta(gens[sk])
			metas[sk] = m
		}
		if m != nil {
			if im := m.Index(k.Component, k.Architecture); im != nil && im.Absent {
				continue
			}
		}
		out = append(out, k)
	}
	return out, gens
}

// LoadIndexFile reads an uncompressed index file and parses every
// paragraph. The paragraphs share one read-only buffer with the file's
// bytes; nothing is copied per field.
func LoadIndexFile(path string) ([]deb822.Paragraph, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	// data is never written again, so the string may share its memory.
	s := unsafe.String(unsafe.SliceData(data), len(data))
	ps, err := deb822.ParseString(s)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return ps, nil
}
