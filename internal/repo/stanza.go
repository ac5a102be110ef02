package repo

import (
	"bytes"
	"fmt"
	"strings"
)

// field is one control field; Value keeps continuation lines verbatim
// (without the trailing newline), as Debian Policy 5.1 allows.
type field struct {
	Name  string
	Value string
}

// stanza is one deb822 paragraph with its fields in order. The repository
// keeps its own small reader because index stanzas are copied through
// unchanged, field order included.
type stanza []field

// get returns the value of name (case-insensitive), or "".
func (s stanza) get(name string) string {
	for _, f := range s {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// appendTo writes s followed by an empty line.
func (s stanza) appendTo(b []byte) []byte {
	for _, f := range s {
		b = append(b, f.Name...)
		b = append(b, ':')
		if f.Value != "" && f.Value[0] != '\n' {
			b = append(b, ' ')
		}
		b = append(b, f.Value...)
		b = append(b, '\n')
	}
	return append(b, '\n')
}

// parseStanzas reads deb822 paragraphs separated by blank lines. Comment
// lines (#) are skipped. Errors name the 1-based line.
func parseStanzas(data []byte) ([]stanza, error) {
	var out []stanza
	var cur stanza
	line := 0
	for len(data) > 0 {
		line++
		i := bytes.IndexByte(data, '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		l = bytes.TrimRight(l, "\r")
		switch {
		case len(bytes.TrimSpace(l)) == 0:
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
		case l[0] == '#':
		case l[0] == ' ' || l[0] == '\t':
			if len(cur) == 0 {
				return nil, fmt.Errorf("line %d: continuation line outside a field", line)
			}
			cur[len(cur)-1].Value += "\n" + string(l)
		default:
			c := bytes.IndexByte(l, ':')
			if c <= 0 {
				return nil, fmt.Errorf("line %d: want \"Field: value\", got %q", line, l)
			}
			cur = append(cur, field{Name: string(l[:c]), Value: string(bytes.TrimSpace(l[c+1:]))})
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out, nil
}

// stripSignature returns the body of an OpenPGP clearsigned message, or data
// unchanged when it is not signed (RFC 4880 section 7). Dash-escaping is undone.
func stripSignature(data []byte) []byte {
	const begin = "-----BEGIN PGP SIGNED MESSAGE-----"
	if !bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(begin)) {
		return data
	}
	lines := bytes.Split(data, []byte("\n"))
	var out [][]byte
	state := 0 // 0 before header, 1 armor headers, 2 body
	for _, l := range lines {
		t := bytes.TrimRight(l, "\r")
		switch state {
		case 0:
			if string(t) == begin {
				state = 1
			}
		case 1:
			if len(t) == 0 {
				state = 2
			}
		case 2:
			if bytes.HasPrefix(t, []byte("-----BEGIN PGP SIGNATURE-----")) {
				return append(bytes.Join(out, []byte("\n")), '\n')
			}
			out = append(out, bytes.TrimPrefix(t, []byte("- ")))
		}
	}
	return append(bytes.Join(out, []byte("\n")), '\n')
}
