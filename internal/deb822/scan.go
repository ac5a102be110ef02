package deb822

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// SyntaxError is a malformed line in deb822 input.
type SyntaxError struct {
	Line int // 1-based
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// errStop lets ParseFirst end a scan early.
var errStop = errors.New("stop")

// slabSize is how many fields one shared allocation holds.
const slabSize = 8192

// ParseAll parses every paragraph of data. It copies data once.
func ParseAll(data []byte) ([]Paragraph, error) { return ParseString(string(data)) }

// ParseString parses every paragraph of s without copying it.
func ParseString(s string) ([]Paragraph, error) {
	// A guess from typical index stanzas (~800 bytes); append grows it.
	ps := make([]Paragraph, 0, len(s)/800+1)
	err := ScanString(s, func(p Paragraph) error {
		ps = append(ps, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ps, nil
}

// ParseFirst parses the first paragraph of data (a Release file, a .dsc):
// a document with no paragraph gives an error.
func ParseFirst(data []byte) (Paragraph, error) {
	var first Paragraph
	found := false
	err := Scan(data, func(p Paragraph) error {
		first, found = p, true
		return errStop
	})
	if err != nil && err != errStop {
		return Paragraph{}, err
	}
	if !found {
		return Paragraph{}, &SyntaxError{Line: 1, Msg: "no paragraph"}
	}
	return first, nil
}

// Scan calls fn for each paragraph of data in order. It copies data once.
// An error from fn stops the scan and is returned unchanged.
func Scan(data []byte, fn func(Paragraph) error) error { return ScanString(string(data), fn) }

// ScanString is Scan without the copy: the paragraphs' strings point into s.
// fn may keep the paragraphs it receives.
func ScanString(s string, fn func(Paragraph) error) error {
	if uint64(len(s)) > math.MaxUint32 {
		return &SyntaxError{Line: 1, Msg: "input larger than 4 GiB"}
	}
	sc := scanner{s: s, slab: make([]rawField, 0, slabSize)}
	return sc.run(fn)
}

type scanner struct {
	s    string
	slab []rawField
	// start is where the open paragraph's fields begin in slab.
	start int
	// the open field: name and value bounds in s, whether a comment sits
	// inside it, and whether there is one.
	nameStart, nameEnd int
	valStart, valEnd   int
	dirty, open        bool
	paraLine, lineNum  int
	// cleaned holds values with comments removed, by index in the open
	// paragraph; such a paragraph is handed out with its own Fields.
	cleaned map[int]string
}

func (sc *scanner) run(fn func(Paragraph) error) error {
	s := sc.s
	pos := 0
	for pos < len(s) {
		sc.lineNum++
		end := strings.IndexByte(s[pos:], '\n')
		next := 0
		if end < 0 {
			end, next = len(s), len(s)
		} else {
			end += pos
			next = end + 1
		}
		if end > pos && s[end-1] == '\r' {
			end--
		}
		if err := sc.line(pos, end, fn); err != nil {
			return err
		}
		pos = next
	}
	return sc.endParagraph(fn)
}

// line handles the line s[pos:end] (newline and any CR removed).
func (sc *scanner) line(pos, end int, fn func(Paragraph) error) error {
	s := sc.s
	if pos == end {
		return sc.endParagraph(fn)
	}
	switch c := s[pos]; c {
	case ' ', '\t':
		if isBlank(s[pos:end]) {
			return sc.endParagraph(fn)
		}
		if !sc.open {
			return &SyntaxError{Line: sc.lineNum, Msg: "continuation line outside a field"}
		}
		sc.valEnd = end
		return nil
	case '#':
		if sc.open {
			sc.dirty = true
		}
		return nil
	case '-':
		if strings.HasPrefix(s[pos:end], "-----BEGIN PGP") {
			return &SyntaxError{Line: sc.lineNum, Msg: "OpenPGP armor in input (verify and strip the signature first)"}
		}
		return &SyntaxError{Line: sc.lineNum, Msg: "field name must not start with '-'"}
	}
	return sc.fieldLine(pos, end)
}

func (sc *scanner) fieldLine(pos, end int) error {
	s := sc.s
	// Find the colon and check the name in one pass: names are short, and
	// a byte loop beats a library search call for a dozen bytes.
	colon := pos
	for colon < end {
		c := s[colon]
		if c == ':' {
			break
		}
		if c <= ' ' || c >= 0x7f {
			return sc.badName(pos, end)
		}
		colon++
	}
	if colon == end {
		return &SyntaxError{Line: sc.lineNum, Msg: fmt.Sprintf("no ':' in field line %q", clip(s[pos:end]))}
	}
	if colon == pos {
		return &SyntaxError{Line: sc.lineNum, Msg: `bad field name ""`}
	}
	return sc.field(pos, colon, colon, end)
}

// field opens the field named s[nameStart:nameEnd] whose colon is at
// s[colon] on a line ending at end.
func (sc *scanner) field(nameStart, nameEnd, colon, end int) error {
	s := sc.s
	sc.closeField()
	if len(sc.slab) == sc.start {
		sc.paraLine = sc.lineNum
	}
	vs := colon + 1
	for vs < end && (s[vs] == ' ' || s[vs] == '\t') {
		vs++
	}
	ve := end
	for ve > vs && (s[ve-1] == ' ' || s[ve-1] == '\t') {
		ve--
	}
	sc.nameStart, sc.nameEnd, sc.valStart, sc.valEnd, sc.open, sc.dirty = nameStart, nameEnd, vs, ve, true, false
	return nil
}

// closeField appends the open field to the slab.
func (sc *scanner) closeField() {
	if !sc.open {
		return
	}
	sc.open = false
	if sc.dirty {
		if sc.cleaned == nil {
			sc.cleaned = map[int]string{}
		}
		sc.cleaned[len(sc.slab)-sc.start] = dropComments(sc.s[sc.valStart:sc.valEnd])
	}
	if len(sc.slab) == cap(sc.slab) {
		// Move the open paragraph to a fresh slab; the old one stays with
		// the paragraphs already handed out.
		n := len(sc.slab) - sc.start
		slab := make([]rawField, n, max(slabSize, 2*n))
		copy(slab, sc.slab[sc.start:])
		sc.slab, sc.start = slab, 0
	}
	sc.slab = append(sc.slab, rawField{uint32(sc.nameStart), uint32(sc.nameEnd - sc.nameStart),
		uint32(sc.valStart), uint32(sc.valEnd - sc.valStart)})
}

func (sc *scanner) endParagraph(fn func(Paragraph) error) error {
	sc.closeField()
	if len(sc.slab) == sc.start {
		return nil
	}
	p := Paragraph{src: sc.s, raw: sc.slab[sc.start:len(sc.slab):len(sc.slab)], Line: sc.paraLine}
	sc.start = len(sc.slab)
	if sc.cleaned != nil {
		// Rare: comments inside values. Hand out Fields with clean values.
		p.own(0)
		for i, v := range sc.cleaned {
			p.fields[i].Value = v
		}
		sc.cleaned = nil
	}
	return fn(p)
}

// dropComments removes comment lines from inside a multi-line value.
func dropComments(v string) string {
	lines := strings.Split(v, "\n")
	out := lines[:1]
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\r")
}

// badName reports the field-name error of line s[pos:end], allowing the
// blanks before the colon that the fast path rejects.
func (sc *scanner) badName(pos, end int) error {
	s := sc.s
	colon := strings.IndexByte(s[pos:end], ':')
	if colon < 0 {
		return &SyntaxError{Line: sc.lineNum, Msg: fmt.Sprintf("no ':' in field line %q", clip(s[pos:end]))}
	}
	nameEnd := pos + colon
	for nameEnd > pos && (s[nameEnd-1] == ' ' || s[nameEnd-1] == '\t') {
		nameEnd--
	}
	if validName(s[pos:nameEnd]) {
		return sc.field(pos, nameEnd, pos+colon, end)
	}
	return &SyntaxError{Line: sc.lineNum, Msg: fmt.Sprintf("bad field name %q", s[pos:nameEnd])}
}

// validName accepts Policy §5.1 field names: printable US-ASCII other than
// space and colon (the colon cannot occur here).
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
