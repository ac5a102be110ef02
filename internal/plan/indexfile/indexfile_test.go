package indexfile

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScan(t *testing.T) {
	data := "Package: a\nDepends: x,\n y (>= 1)\n# comment\nVersion: 1  \n\n\n\npackage: b\r\nVersion: 2\n"
	var got [][3]string
	err := Scan([]byte(data), func(s *Stanza) error {
		got = append(got, [3]string{s.Get("Package"), s.Get("version"), s.Get("Depends")})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][3]string{{"a", "1", "x,\n y (>= 1)"}, {"b", "2", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Scan differs (-want +got):\n%s", diff)
	}
	for _, bad := range []string{" continuation first\n", "Package a\n"} {
		if err := Scan([]byte(bad), func(*Stanza) error { return nil }); err == nil {
			t.Errorf("Scan(%q) succeeded; want an error", bad)
		}
	}
}
