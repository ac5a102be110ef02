package archive

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/packyard/packyard/internal/config"
)

func TestParseAptSources(t *testing.T) {
	root := filepath.Join("testdata", "aptroot")
	got, err := ParseAptSources(root)
	if err != nil {
		t.Fatal(err)
	}
	def := filepath.Join(root, DefaultKeyring)
	want := []config.Archive{
		{Name: "debian", URI: "http://mirror.example/debian", Suites: []string{"bookworm", "bookworm-updates"},
			Components: []string{"main", "contrib"}, SignedBy: def},
		{Name: "apt", URI: "https://other.example/apt", Suites: []string{"stable"}, Components: []string{"main"},
			Architectures: []string{"amd64", "i386"}, SignedBy: "/etc/apt/keyrings/other.gpg"},
		{Name: "debian-security", URI: "http://mirror.example/debian-security", Suites: []string{"bookworm-security"},
			Components: []string{"main"}, SignedBy: "/usr/share/keyrings/debian-archive-keyring.gpg"},
		{Name: "debian-2", URI: "http://inline.example/debian", Suites: []string{"trixie"}, Components: []string{"main"},
			Architectures: []string{"arm64"},
			SignedBy:      "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBFakekeyAAA=\n-----END PGP PUBLIC KEY BLOCK-----"},
		{Name: "debian-3", URI: "http://mirror2.example/debian", Suites: []string{"bookworm"}, Components: []string{"main"}, SignedBy: def},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseAptSources (-want +got):\n%s", diff)
	}
}

func TestParseOneLineSourcesErrors(t *testing.T) {
	for _, in := range []string{"rpm http://x y\n", "deb [arch=amd64 http://x y\n", "deb http://x\n"} {
		if _, err := parseOneLineSources([]byte(in)); err == nil {
			t.Errorf("parseOneLineSources(%q) succeeded; want an error", in)
		}
	}
}
