package deb822

import (
	"regexp"
	"strings"
	"testing"
	"unicode"

	"pault.ag/go/debian/control"
)

// pautValue converts a value of ours to the form pault.ag/go/debian's
// control.ParagraphReader gives: first line trimmed of Unicode space, then
// each continuation line without its first byte, right-trimmed, "." read as
// empty, each followed by "\n".
func pautValue(v string) string {
	lines := strings.Split(v, "\n")
	out := strings.TrimSpace(lines[0])
	for _, l := range lines[1:] {
		l = strings.TrimRightFunc(l[1:], unicode.IsSpace)
		if l == "." {
			l = ""
		}
		if out == "" {
			out = l + "\n"
			continue
		}
		if !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		out += l + "\n"
	}
	return out
}

// blankLine matches a line of only spaces and tabs: a paragraph separator
// for us (as for dpkg), a continuation line for pault.ag.
var blankLine = regexp.MustCompile(`(^|\n)[ \t]+\r?(\n|$)`)

// FuzzScan checks the scanner against pault.ag/go/debian's generic decoder.
// Known, intended differences are skipped: we reject input the generic
// decoder accepts (bad field names, continuation lines outside a field,
// OpenPGP armor, lines starting with '-'), we treat blank-only lines as
// separators, and we keep duplicate fields where it overwrites them.
//
// CI runs it briefly: go test -run '^$' -fuzz FuzzScan -fuzztime 20s ./internal/deb822
func FuzzScan(f *testing.F) {
	for _, seed := range []string{
		"Package: hello\nVersion: 2.10-3\nDescription: example\n long\n .\n more\n\nPackage: b\n",
		"Files:\n abc 1 a.dsc\n def 2 b.tar\n",
		"# comment\nA: 1\n# c\n continued\nB:\n\n\n",
		"A: x\r\nB: y\r\n z\r\n\r\nC: 3",
		"Source: x\nBuild-Depends: a (>= 1),\n b [amd64] <!nocheck>,\n c | d\n",
		"A:\n .\n b\n",
		"A: \v\n x \n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ours, err := ParseString(in)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("ParseString(%q) returned %T %v; want *SyntaxError", in, err, err)
			}
			return // stricter than the generic decoder by design
		}
		if blankLine.MatchString(in) {
			return
		}
		theirs, err := control.NewParagraphReader(strings.NewReader(in), nil)
		if err != nil {
			t.Fatalf("generic decoder failed on %q where we succeeded: %v", in, err)
		}
		tps, err := theirs.All()
		if err != nil {
			t.Fatalf("generic decoder failed on %q where we succeeded: %v", in, err)
		}
		if len(tps) != len(ours) {
			t.Fatalf("ParseString(%q) gave %d paragraphs; generic decoder %d", in, len(ours), len(tps))
		}
		for i, p := range ours {
			seen := map[string]bool{}
			for _, fl := range p.Fields() {
				if seen[fl.Name] {
					return
				}
				seen[fl.Name] = true
			}
			tp := tps[i]
			if len(tp.Order) != p.Len() {
				t.Fatalf("paragraph %d of %q: %d fields; generic decoder %v", i, in, p.Len(), tp.Order)
			}
			for j, fl := range p.Fields() {
				if tp.Order[j] != fl.Name {
					t.Fatalf("paragraph %d of %q: field %d is %q; generic decoder %q", i, in, j, fl.Name, tp.Order[j])
				}
				if got, want := pautValue(fl.Value), tp.Values[fl.Name]; got != want {
					t.Fatalf("paragraph %d of %q: field %s = %q (as %q); generic decoder %q", i, in, fl.Name, fl.Value, got, want)
				}
				if p.Get(strings.ToUpper(fl.Name)) != fl.Value {
					t.Fatalf("Get(%q) does not find field %q", strings.ToUpper(fl.Name), fl.Name)
				}
			}
		}
		// What we write reads back the same.
		var b strings.Builder
		if err := Write(&b, ours); err != nil {
			t.Fatal(err)
		}
		again, err := ParseString(b.String())
		if err != nil {
			t.Fatalf("re-parsing Write output %q: %v", b.String(), err)
		}
		if len(again) != len(ours) {
			t.Fatalf("Write/ParseString round trip of %q: %d paragraphs; want %d", in, len(again), len(ours))
		}
		for i := range ours {
			for j, fl := range ours[i].Fields() {
				g := again[i].Fields()[j]
				if g.Name != fl.Name || pautValue(g.Value) != pautValue(fl.Value) {
					t.Fatalf("round trip of %q: field %q = %q; want %q", in, fl.Name, g.Value, fl.Value)
				}
			}
		}
	})
}
