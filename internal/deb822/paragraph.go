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
type Paragraph struct {
	fields []Field
	// Line is the 1-based line of the paragraph's first field in its input,
	// or 0 for a paragraph built in code.
	Line int
}

// NewParagraph returns a paragraph holding fields in the given order.
func NewParagraph(fields ...Field) Paragraph {
	return Paragraph{fields: append([]Field(nil), fields...)}
}

// Equal reports whether p and q have the same fields in the same order
// (names compared exactly); Line is ignored. go-cmp uses it.
func (p Paragraph) Equal(q Paragraph) bool {
	if len(p.fields) != len(q.fields) {
		return false
	}
	for i := range p.fields {
		if p.fields[i] != q.fields[i] {
			return false
		}
	}
	return true
}

// Fields returns the fields in order. The slice must not be modified.
func (p Paragraph) Fields() []Field { return p.fields }

// Len returns the number of fields.
func (p Paragraph) Len() int { return len(p.fields) }

// Get returns the value of the first field called name, compared without
// regard to ASCII case (Policy §5.1), or "" if there is none.
func (p Paragraph) Get(name string) string {
	v, _ := p.Lookup(name)
	return v
}

// Lookup is Get that also reports whether the field exists.
func (p Paragraph) Lookup(name string) (string, bool) {
	if i := p.index(name); i >= 0 {
		return p.fields[i].Value, true
	}
	return "", false
}

func (p Paragraph) index(name string) int {
	for i := range p.fields {
		if n := p.fields[i].Name; len(n) == len(name) && (n == name || foldEqual(n, name)) {
			return i
		}
	}
	return -1
}

// Set replaces the value of the field called name (any case), keeping its
// position, or appends the field. Set never writes into memory shared with
// other copies of p.
func (p *Paragraph) Set(name, value string) {
	i := p.index(name)
	fields := make([]Field, len(p.fields), len(p.fields)+1)
	copy(fields, p.fields)
	if i >= 0 {
		fields[i].Value = value
	} else {
		fields = append(fields, Field{Name: name, Value: value})
	}
	p.fields = fields
}

// Delete removes every field called name (any case).
func (p *Paragraph) Delete(name string) {
	fields := make([]Field, 0, len(p.fields))
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
	for _, f := range p.fields {
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
