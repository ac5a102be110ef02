package repo

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

// TestXZAssembly checks that blocks cut from single-block streams and
// assembled into one stream decode, with valid checks, in Go and in xz(1)
// (liblzma, which apt uses).
func TestXZAssembly(t *testing.T) {
	chunks := []string{
		strings.Repeat("Package: a\nVersion: 1\n\n", 3),
		"Package: b\nVersion: 2\n\n",
		strings.Repeat("Package: c\nDescription: odd length text\n\n", 17),
	}
	var out bytes.Buffer
	var want strings.Builder
	var check byte
	var blocks [][]byte
	for _, c := range chunks {
		_, xzb, err := compressed([]byte(c))
		if err != nil {
			t.Fatal(err)
		}
		b, ck, err := xzBlock(xzb)
		if err != nil {
			t.Fatalf("xzBlock: %v", err)
		}
		check = ck
		blocks = append(blocks, b)
		want.WriteString(c)
	}
	a, err := newXZAssembler(&out, check)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range blocks {
		if err := a.block(b, int64(len(chunks[i]))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
	r, err := xz.NewReader(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding assembled stream: %v", err)
	}
	if string(got) != want.String() {
		t.Errorf("assembled stream decodes to %q; want %q", got, want.String())
	}
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz not installed")
	}
	p := filepath.Join(t.TempDir(), "Packages.xz")
	os.WriteFile(p, out.Bytes(), 0o644)
	if msg, err := exec.Command("xz", "-t", p).CombinedOutput(); err != nil {
		t.Errorf("xz -t on the assembled stream: %v\n%s", err, msg)
	}
}
