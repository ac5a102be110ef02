//go:build integration

package repo

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ulikunitz/xz"
)

// TestLazyLZMA2RealDebs decodes the control.tar.xz of every benchmark
// .deb (when bench/repo/run.sh has downloaded them) both ways.
func TestLazyLZMA2RealDebs(t *testing.T) {
	debs, _ := filepath.Glob("/var/tmp/packyard-bench/debs/*.deb")
	if len(debs) == 0 {
		t.Skip("no benchmark .debs in /var/tmp/packyard-bench/debs")
	}
	n := 0
	for _, p := range debs {
		member := controlMember(t, p)
		if member == nil {
			continue
		}
		n++
		zr, err := xz.NewReader(bytes.NewReader(member))
		fatalIf(t, err)
		want, err := io.ReadAll(zr)
		fatalIf(t, err)
		got, err := io.ReadAll(smallXZ(member))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: lazy decoder: %v (%d bytes, want %d)", filepath.Base(p), err, len(got), len(want))
		}
	}
	t.Logf("%d control.tar.xz members agree", n)
}

// controlMember returns a .deb's control.tar.xz member, or nil for another
// compression (dpkg-deb puts it second, after debian-binary).
func controlMember(t *testing.T, p string) []byte {
	data, err := os.ReadFile(p)
	fatalIf(t, err)
	const at = 8 + 60 + 4 // ar magic, debian-binary header and body
	if len(data) < at+60 || string(bytes.TrimRight(data[at:at+16], " /")) != "control.tar.xz" {
		return nil
	}
	var size int
	for _, c := range bytes.TrimSpace(data[at+48 : at+58]) {
		size = size*10 + int(c-'0')
	}
	if at+60+size > len(data) {
		t.Fatalf("%s: truncated control member", p)
	}
	return data[at+60 : at+60+size]
}
