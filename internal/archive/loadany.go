package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/klauspost/compress/gzip"
	"github.com/therootcompany/xz"

	"github.com/packyard/packyard/internal/deb822"
)

// LoadAnyIndexFile reads the index base (for example
// ".../main/source/Sources") from whichever of base, base+".xz" and
// base+".gz" exists, in that order, and parses every paragraph. A
// repository may publish only the compressed forms of a large index
// (Debian's archive does), so readers of packyard's own repository use
// this rather than LoadIndexFile. None existing gives an error wrapping
// fs.ErrNotExist.
//
// A base that itself ends in .xz or .gz is read as that one file.
func LoadAnyIndexFile(base string) ([]deb822.Paragraph, error) {
	if ext := filepath.Ext(base); ext == ".xz" || ext == ".gz" {
		return loadCompressed(base, ext)
	}
	if ps, err := LoadIndexFile(base); !errors.Is(err, fs.ErrNotExist) {
		return ps, err
	}
	for _, ext := range []string{".xz", ".gz"} {
		ps, err := loadCompressed(base+ext, ext)
		if !errors.Is(err, fs.ErrNotExist) {
			return ps, err
		}
	}
	return nil, fmt.Errorf("reading %s: no plain, .xz or .gz form: %w", base, fs.ErrNotExist)
}

// loadCompressed decodes and parses one xz or gzip index file.
func loadCompressed(path, ext string) ([]deb822.Paragraph, error) {
	data, err := readCompressed(path, ext)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	// data is never written again, so the string may share its memory.
	ps, err := deb822.ParseString(unsafe.String(unsafe.SliceData(data), len(data)))
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return ps, nil
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
		if r, err = xz.NewReader(f, 0); err != nil {
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
