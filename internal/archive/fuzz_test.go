package archive

import "testing"

// FuzzParsers feeds the same bytes to the parsers of untrusted text (a
// Release, a Sources stanza's checksums, apt source lines): they must
// return an error or a value, never panic, and never accept an unsafe
// file name.
func FuzzParsers(f *testing.F) {
	f.Add("Suite: stable\nCodename: bookworm\nDate: Sat, 11 Jul 2026 10:16:37 UTC\nSHA256:\n 0000000000000000000000000000000000000000000000000000000000000000 12 main/source/Sources\n")
	f.Add("deb [arch=amd64 signed-by=/k.gpg] http://x/debian bookworm main\n# c\ndeb-src http://x y\n")
	f.Add("\n 0000000000000000000000000000000000000000000000000000000000000000 12 ../a.dsc\n")
	f.Fuzz(func(t *testing.T, in string) {
		_, _ = ParseRelease([]byte(in))
		_, _ = parseOneLineSources([]byte(in))
		_, _ = parseDeb822Sources([]byte(in))
		if files, err := parseChecksums(in); err == nil {
			for _, fr := range files {
				if safeFileName(fr.Name) != nil {
					t.Fatalf("parseChecksums accepted unsafe name %q", fr.Name)
				}
			}
		}
		if safeDirectory(in) == nil && (in == "" || in[0] == '/' || len(in) > 1 && containsDotDot(in)) {
			t.Fatalf("safeDirectory accepted %q", in)
		}
	})
}

func containsDotDot(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '.' && s[i+1] == '.' && (i == 0 || s[i-1] == '/') && (i+2 == len(s) || s[i+2] == '/') {
			return true
		}
	}
	return false
}
