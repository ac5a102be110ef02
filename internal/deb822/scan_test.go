package deb822

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func fieldsOf(ps []Paragraph) [][]Field {
	var out [][]Field
	for _, p := range ps {
		out = append(out, p.Fields())
	}
	return out
}

func TestParseString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want [][]Field
	}{
		{"empty", "", nil},
		{"blank lines only", "\n\n \n", nil},
		{"one", "Package: hello\nVersion: 2.10-3\n", [][]Field{{{"Package", "hello"}, {"Version", "2.10-3"}}}},
		{"no final newline", "A: b", [][]Field{{{"A", "b"}}}},
		{"two with extra blank lines", "\n\nA: 1\n\n\n\nA: 2\n\n", [][]Field{{{"A", "1"}}, {{"A", "2"}}}},
		{"blanks around value", "A:   x y  \t\n", [][]Field{{{"A", "x y"}}}},
		{"empty value", "A:\nB: 1\n", [][]Field{{{"A", ""}, {"B", "1"}}}},
		{"continuation", "Description: short\n long one\n .\n more\nB: 1\n",
			[][]Field{{{"Description", "short\n long one\n .\n more"}, {"B", "1"}}}},
		{"multiline empty first", "Files:\n abc 12 a.dsc\n def 34 a.tar.xz\n",
			[][]Field{{{"Files", "\n abc 12 a.dsc\n def 34 a.tar.xz"}}}},
		{"tab continuation", "A: x\n\ty\n", [][]Field{{{"A", "x\n\ty"}}}},
		{"comments", "# top\nA: 1\n# mid\nB: 2\n#end\n\n#x\nC: 3\n", [][]Field{{{"A", "1"}, {"B", "2"}}, {{"C", "3"}}}},
		{"comment inside value", "A: x\n y\n# c\n z\nB: 1\n", [][]Field{{{"A", "x\n y\n z"}, {"B", "1"}}}},
		{"comments inside two values", "A: x\n#c\n y\nB: 1\nC:\n#d\n z\n\nD: 2\n",
			[][]Field{{{"A", "x\n y"}, {"B", "1"}, {"C", "\n z"}}, {{"D", "2"}}}},
		{"crlf", "A: 1\r\nB: x\r\n y\r\n\r\nC: 3\r\n", [][]Field{{{"A", "1"}, {"B", "x\r\n y"}}, {{"C", "3"}}}},
		{"whitespace-only line separates", "A: 1\n  \t\nB: 2\n", [][]Field{{{"A", "1"}}, {{"B", "2"}}}},
		{"name with trailing space", "A : 1\n", [][]Field{{{"A", "1"}}}},
		{"colon in value", "Homepage: https://x.org:80/a\n", [][]Field{{{"Homepage", "https://x.org:80/a"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseString(tt.in)
			if err != nil {
				t.Fatalf("ParseString(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, fieldsOf(got)); diff != "" {
				t.Errorf("ParseString(%q) fields (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		line int
		msg  string
	}{
		{" x\n", 1, "continuation line outside a field"},
		{"A: 1\n\n y\n", 3, "continuation line outside a field"},
		{"A: 1\nnocolon\n", 2, "no ':'"},
		{"A: 1\n: x\n", 2, "bad field name"},
		{"A B: 1\n", 1, "bad field name"},
		{"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n", 1, "OpenPGP armor"},
		{"A: 1\n-B: 2\n", 2, "must not start with '-'"},
	}
	for _, tt := range tests {
		_, err := ParseString(tt.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseString(%q) = %v; want *SyntaxError", tt.in, err)
			continue
		}
		if se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("ParseString(%q) = %v; want line %d containing %q", tt.in, err, tt.line, tt.msg)
		}
	}
}

func TestParagraphLine(t *testing.T) {
	ps, err := ParseString("# c\n\nA: 1\n\n\nB: 2\n x\n\nC: 3\n")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, p := range ps {
		got = append(got, p.Line)
	}
	if diff := cmp.Diff([]int{3, 6, 9}, got); diff != "" {
		t.Errorf("paragraph lines (-want +got):\n%s", diff)
	}
}

func TestGetSetDelete(t *testing.T) {
	p, err := ParseFirst([]byte("Package: hello\nVersion: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Get("package"); got != "hello" {
		t.Errorf("Get(package) = %q; want hello", got)
	}
	if got := p.Get("PACKAGE"); got != "hello" {
		t.Errorf("Get(PACKAGE) = %q; want hello", got)
	}
	if _, ok := p.Lookup("Packag"); ok {
		t.Errorf("Lookup(Packag) found a field")
	}
	q := p
	q.Set("version", "2")
	q.Set("Architecture", "any")
	if got := p.Get("Version"); got != "1" {
		t.Errorf("Set on a copy changed the original: Version = %q", got)
	}
	if got, want := q.String(), "Package: hello\nVersion: 2\nArchitecture: any\n"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
	q.Delete("PACKAGE")
	if got, want := q.String(), "Version: 2\nArchitecture: any\n"; got != want {
		t.Errorf("after Delete String() = %q; want %q", got, want)
	}
}

func TestWriteRoundTrip(t *testing.T) {
	in := "Source: hello\nBinary: hello\nChecksums-Sha256:\n abc 1 a.dsc\n def 2 b.tar.xz\n\nPackage: hello\nDescription: example\n Long text.\n .\n More.\n"
	ps, err := ParseString(in)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Write(&b, ps); err != nil {
		t.Fatal(err)
	}
	if b.String() != in {
		t.Errorf("Write(ParseString(in)) = %q; want %q", b.String(), in)
	}
}

func TestWriteNormalizesValues(t *testing.T) {
	p := NewParagraph(Field{"Description", "short\nline one\n\n  indented"}, Field{"Files", "\nabc 1 f"})
	want := "Description: short\n line one\n .\n  indented\nFiles:\n abc 1 f\n"
	if got := p.String(); got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
}

func TestLines(t *testing.T) {
	got := Lines("short\n long one \n .\n  more\r")
	want := []string{"short", "long one", "", " more"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lines (-want +got):\n%s", diff)
	}
}

func TestSlabGrowth(t *testing.T) {
	// A paragraph larger than a slab and many paragraphs crossing slabs.
	var b strings.Builder
	for i := 0; i < slabSize+10; i++ {
		b.WriteString("F")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(": v\n")
	}
	b.WriteString("\n")
	for i := 0; i < 3*slabSize; i++ {
		b.WriteString("A: 1\nB: 2\nC: 3\n\n")
	}
	ps, err := ParseString(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(ps), 1+3*slabSize; got != want {
		t.Fatalf("got %d paragraphs; want %d", got, want)
	}
	if got := ps[0].Len(); got != slabSize+10 {
		t.Errorf("first paragraph has %d fields; want %d", got, slabSize+10)
	}
	for i, p := range ps[1:] {
		if p.Get("A") != "1" || p.Get("B") != "2" || p.Get("C") != "3" || p.Len() != 3 {
			t.Fatalf("paragraph %d = %q", i+1, p.String())
		}
	}
}

func TestEqual(t *testing.T) {
	a, _ := ParseFirst([]byte("A: 1\nB: 2\n"))
	b := NewParagraph(Field{"A", "1"}, Field{"B", "2"})
	if !a.Equal(b) || cmp.Diff(a, b) != "" {
		t.Errorf("parsed and built paragraphs differ: %s", cmp.Diff(a, b))
	}
	b.Set("B", "3")
	if a.Equal(b) {
		t.Errorf("Equal ignores a changed value")
	}
}
