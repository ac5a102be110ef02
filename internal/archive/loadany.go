package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"unsafe"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"

	"github.com/packyard/packyard/internal/deb822"
)

// LoadAnyIndexFile reads the index base (for example
// ".../main/source/Sources") from whichever of base, base+".xz" and
// base+".gz" exists, in that order, and parses every paragraph. A
// repository may publish only the compressed forms of a large index
// (Debian's archive does), so readers of packyard's own repository use
// this rather than LoadIndexFile. None existing gives an error wrapping
// fs.ErrNotExist.
func LoadAnyIndexFile(base string) ([]deb822.Paragraph, error) {
	if ps, err := LoadIndexFile(base); !errors.Is(err, fs.ErrNotExist) {
		return ps, err
	}
	for _, ext := range []string{".xz", ".gz"} {
		data, err := readCompressed(base+ext, ext)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", base+ext, err)
		}
		ps, err := deb822.ParseString(unsafe.String(unsafe.SliceData(data), len(data)))
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", base+ext, err)
		}
		return ps, nil
	}
	return nil, fmt.Errorf("reading %s: no plain, .xz or .gz form: %w", base, fs.ErrNotExist)
}

// readCompressed decodes the whole xz or gzip file path.
func readCompressed(path, ext string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader
	if ext == ".xz" {
		if r, err = xz.NewReader(f); err != nil {
			return nil, err
		}
	} else {
		gr, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		defer gr.Close()
		r = gr
	}
	return io.ReadAll(r)
}
