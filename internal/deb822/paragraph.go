package deb822

import (
	"io"
	"strings"
)

// Field is one "Name: value" field of a paragraph. Value follows the package
// convention: first line trimmed, continuation lines verbatim, no final
// newline.
type Field struct {
	Name  string
	Value string
}

// Paragraph is one deb822 paragraph (a stanza): its fields in file order.
// The zero value is an empty paragraph ready for Set.
//
// A parsed paragraph keeps its fields as offsets into the input (four
// integers each, no pointers), so an index of a million fields costs half
// the memory of string pairs and nothing for the garbage collector to
// scan; a paragraph built or changed in code holds Field values.
type Paragraph struct {
	src    string     // the input raw points into
	raw    []rawField // fields of a parsed paragraph; nil otherwise
	fields []Field    // fields of a built or changed paragraph
	// Line is the 1-based line of the paragraph's first field in its input,
	// or 0 for a paragraph built in code.
	Line int
}

// rawField locates a field's name and value in Paragraph.src.
type rawField struct{ nameOff, nameLen, valOff, valLen uint32 }

// NewParagraph returns a paragraph holding fields in the given order.
func NewParagraph(fields ...Field) Paragraph {
	return Paragraph{fields: append([]Field(nil), fields...)}
}

// Equal reports whether p and q have the same fields in the same order
// (names compared exactly); Line is ignored. go-cmp uses it.
func (p Paragraph) Equal(q Paragraph) bool {
	if p.Len() != q.Len() {
		return false
	}
	for i := 0; i < p.Len(); i++ {
		if p.field(i) != q.field(i) {
			return false
		}
	}
	return true
}

// Fields returns the fields in order. For a parsed paragraph it builds a
// new slice on each call; Get and Lookup do not allocate.
func (p Paragraph) Fields() []Field {
	if p.raw == nil {
		return p.fields
	}
	out := make([]Field, len(p.raw))
	for i := range p.raw {
		out[i] = p.field(i)
	}
	return out
}

// Len returns the number of fields.
func (p Paragraph) Len() int {
	if p.raw != nil {
		return len(p.raw)
	}
	return len(p.fields)
}

func (p Paragraph) field(i int) Field {
	if p.raw == nil {
		return p.fields[i]
	}
	r := p.raw[i]
	return Field{Name: p.src[r.nameOff : r.nameOff+r.nameLen], Value: p.src[r.valOff : r.valOff+r.valLen]}
}

// Get returns the value of the first field called name, compared without
// regard to ASCII case (Policy §5.1), or "" if there is none.
func (p Paragraph) Get(name string) string {
	v, _ := p.Lookup(name)
	return v
}

// Lookup is Get that also reports whether the field exists.
func (p Paragraph) Lookup(name string) (string, bool) {
	if p.raw != nil {
		for _, r := range p.raw {
			if int(r.nameLen) != len(name) {
				continue
			}
			if n := p.src[r.nameOff : r.nameOff+r.nameLen]; n == name || foldEqual(n, name) {
				return p.src[r.valOff : r.valOff+r.valLen], true
			}
		}
		return "", false
	}
	if i := p.index(name); i >= 0 {
		return p.fields[i].Value, true
	}
	return "", false
}

// index finds name among the fields of a built paragraph.
func (p Paragraph) index(name string) int {
	for i := range p.fields {
		if n := p.fields[i].Name; len(n) == len(name) && (n == name || foldEqual(n, name)) {
			return i
		}
	}
	return -1
}

// own turns a parsed paragraph into a built one with its own Field slice
// of capacity extra beyond its length.
func (p *Paragraph) own(extra int) {
	fields := make([]Field, p.Len(), p.Len()+extra)
	for i := range fields {
		fields[i] = p.field(i)
	}
	p.src, p.raw, p.fields = "", nil, fields
}

// Set replaces the value of the field called name (any case), keeping its
// position, or appends the field. Set never writes into memory shared with
// other copies of p.
func (p *Paragraph) Set(name, value string) {
	p.own(1)
	if i := p.index(name); i >= 0 {
		p.fields[i].Value = value
		return
	}
	p.fields = append(p.fields, Field{Name: name, Value: value})
}

// Delete removes every field called name (any case).
func (p *Paragraph) Delete(name string) {
	p.own(0)
	fields := p.fields[:0]
	for _, f := range p.fields {
		if !(len(f.Name) == len(name) && foldEqual(f.Name, name)) {
			fields = append(fields, f)
		}
	}
	p.fields = fields
}

// String returns the paragraph as deb822 text, each field ending in "\n",
// with no blank line after it.
func (p Paragraph) String() string {
	var b strings.Builder
	p.writeTo(&b)
	return b.String()
}

// WriteTo writes the paragraph as String does.
func (p Paragraph) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	p.writeTo(&b)
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func (p Paragraph) writeTo(b *strings.Builder) {
	for i := 0; i < p.Len(); i++ {
		f := p.field(i)
		b.WriteString(f.Name)
		b.WriteByte(':')
		first, rest, multi := strings.Cut(f.Value, "\n")
		if first = strings.TrimSpace(first); first != "" {
			b.WriteByte(' ')
			b.WriteString(first)
		}
		b.WriteByte('\n')
		for multi {
			var line string
			line, rest, multi = strings.Cut(rest, "\n")
			line = strings.TrimRight(line, " \t\r")
			switch {
			case strings.Trim(line, " \t") == "":
				// A blank line would end the paragraph; Policy spells it " .".
				b.WriteString(" .")
			case line[0] == ' ' || line[0] == '\t':
				b.WriteString(line)
			default:
				b.WriteByte(' ')
				b.WriteString(line)
			}
			b.WriteByte('\n')
		}
	}
}

// Write writes paragraphs separated by blank lines.
func Write(w io.Writer, ps []Paragraph) error {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		p.writeTo(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Lines splits a multi-line value into lines as Policy §5.1 reads them: the
// first line, then each continuation line without its leading blank and
// with " ." meaning an empty line. Trailing blanks are removed from every
// line. A value without continuation lines gives one line.
func Lines(value string) []string {
	lines := strings.Split(value, "\n")
	for i, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		if i > 0 && l != "" && (l[0] == ' ' || l[0] == '\t') {
			l = l[1:]
			if l == "." {
				l = ""
			}
		}
		lines[i] = l
	}
	return lines
}

// foldEqual compares two ASCII strings of equal length without case.
func foldEqual(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
