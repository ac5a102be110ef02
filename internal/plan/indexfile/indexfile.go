// Package indexfile reads Debian Packages and Sources index files (deb822
// paragraphs, Debian Policy §5.1) fast enough for whole-archive planning.
//
// It is a stop-gap for the planner's tests and benchmarks: once
// internal/deb822 lands, callers should scan with it instead; the planner
// only needs a value with a Get(field) string method, which both provide.
package indexfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"unsafe"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"
)

// Stanza is one paragraph of an index file. Field values are sliced from the
// file data without copying; continuation lines keep their newlines.
type Stanza struct {
	text   string
	names  []string
	starts []int
	ends   []int
}

// Get returns the value of the named field (case-insensitive), or "".
func (s *Stanza) Get(name string) string {
	for i, n := range s.names {
		if len(n) == len(name) && strings.EqualFold(n, name) {
			return strings.TrimRight(s.text[s.starts[i]:s.ends[i]], " \t\r")
		}
	}
	return ""
}

// Scan calls fn for every paragraph of data, in order. The Stanza passed to fn
// is reused: fn must not keep it, only the strings it returns. data must stay
// alive and unmodified while those strings are in use.
func Scan(data []byte, fn func(*Stanza) error) error {
	text := unsafe.String(unsafe.SliceData(data), len(data))
	st := &Stanza{text: text}
	line := 0
	for pos := 0; pos < len(text); {
		end := strings.IndexByte(text[pos:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += pos
		}
		l := text[pos:end]
		line++
		switch {
		case len(l) == 0 || l == "\r":
			if len(st.names) > 0 {
				if err := fn(st); err != nil {
					return err
				}
				st.names, st.starts, st.ends = st.names[:0], st.starts[:0], st.ends[:0]
			}
		case l[0] == ' ' || l[0] == '\t':
			if len(st.names) == 0 {
				return fmt.Errorf("line %d: continuation line outside a field", line)
			}
			st.ends[len(st.ends)-1] = end
		case l[0] == '#':
		default:
			colon := strings.IndexByte(l, ':')
			if colon <= 0 {
				return fmt.Errorf("line %d: missing colon in %q", line, l)
			}
			start := pos + colon + 1
			for start < end && (text[start] == ' ' || text[start] == '\t') {
				start++
			}
			st.names = append(st.names, l[:colon])
			st.starts = append(st.starts, start)
			st.ends = append(st.ends, end)
		}
		pos = end + 1
	}
	if len(st.names) > 0 {
		return fn(st)
	}
	return nil
}

// ReadFile returns the contents of an index file, decompressing .xz and .gz
// files by their name.
func ReadFile(path string) ([]byte, error) {
	if !strings.HasSuffix(path, ".xz") && !strings.HasSuffix(path, ".gz") {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading index: %w", err)
		}
		return data, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening index: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.HasSuffix(path, ".xz"):
		xr, err := xz.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		r = xr
	case strings.HasSuffix(path, ".gz"):
		gr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		r = gr
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return buf.Bytes(), nil
}
