package repo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"
)

// indexKey names one index directory of a distribution:
// <Component>/<Dir>, Dir being binary-<arch>, debian-installer/binary-<arch>
// or source.
type indexKey struct {
	Component string
	Dir       string
}

func (k indexKey) path() string { return k.Component + "/" + k.Dir }

// base is the index file name in the directory.
func (k indexKey) base() string {
	if k.Dir == "source" {
		return "Sources"
	}
	return "Packages"
}

// indexKeys returns every index directory a distribution publishes.
func indexKeys(t *target) []indexKey {
	var out []indexKey
	for _, c := range t.Dist.Components {
		for _, a := range t.Dist.Architectures {
			out = append(out, indexKey{c, "binary-" + a})
		}
		out = append(out, indexKey{c, "source"})
	}
	return out
}

// index is the content of one Packages or Sources file: one stanza per
// package name (binary indexes are per architecture already).
type index struct {
	entries map[string]stanza
}

func newIndex() *index { return &index{entries: map[string]stanza{}} }

// loadIndex parses the uncompressed index of key from generation dir gen
// ("" for none).
func loadIndex(gen string, key indexKey) (*index, error) {
	ix := newIndex()
	if gen == "" {
		return ix, nil
	}
	data, err := os.ReadFile(filepath.Join(gen, filepath.FromSlash(key.path()), key.base()))
	if errors.Is(err, os.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return nil, err
	}
	sts, err := parseStanzas(data)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", key.path(), key.base(), err)
	}
	for _, s := range sts {
		ix.entries[s.get("Package")] = s
	}
	return ix, nil
}

// bytes renders the index sorted by package name.
func (ix *index) bytes() []byte {
	names := make([]string, 0, len(ix.entries))
	for n := range ix.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var b []byte
	for _, n := range names {
		b = ix.entries[n].appendTo(b)
	}
	return b
}

// binaryStanza returns the Packages stanza of b stored at filename.
func binaryStanza(b *binaryItem, filename string) stanza {
	s := make(stanza, 0, len(b.Control)+5)
	for _, f := range b.Control {
		switch f.Name {
		case "Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512":
			continue
		}
		s = append(s, f)
	}
	sum := b.File.Sum
	return append(s,
		field{"Filename", filename},
		field{"Size", strconv.FormatInt(sum.Size, 10)},
		field{"MD5sum", sum.MD5},
		field{"SHA1", sum.SHA1},
		field{"SHA256", sum.SHA256},
	)
}

// sourceStanza returns the Sources stanza of s stored in directory dir: the
// .dsc fields with Source renamed to Package, plus Directory, and the .dsc
// itself added to Files and Checksums-* (Debian repository format).
func sourceStanza(s *sourceItem, dir string) stanza {
	out := stanza{{"Package", s.Package}}
	dsc := s.DSC.Sum
	for _, f := range s.Control {
		switch f.Name {
		case "Source", "Directory":
			continue
		case "Files":
			f.Value = fmt.Sprintf("\n %s %d %s", dsc.MD5, dsc.Size, s.DSC.Name) + f.Value
		case "Checksums-Sha1":
			f.Value = fmt.Sprintf("\n %s %d %s", dsc.SHA1, dsc.Size, s.DSC.Name) + f.Value
		case "Checksums-Sha256":
			f.Value = fmt.Sprintf("\n %s %d %s", dsc.SHA256, dsc.Size, s.DSC.Name) + f.Value
		}
		out = append(out, f)
	}
	return append(out, field{"Directory", dir})
}

// compressed returns data as gzip and xz, deterministic (no name or time).
func compressed(data []byte) (gz, xzb []byte, err error) {
	var g bytes.Buffer
	zw, err := gzip.NewWriterLevel(&g, gzip.BestCompression)
	if err != nil {
		return nil, nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	var x bytes.Buffer
	xw, err := xz.NewWriter(&x)
	if err != nil {
		return nil, nil, err
	}
	if _, err := xw.Write(data); err != nil {
		return nil, nil, err
	}
	if err := xw.Close(); err != nil {
		return nil, nil, err
	}
	return g.Bytes(), x.Bytes(), nil
}
