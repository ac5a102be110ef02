package archive

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packyard/packyard/internal/run"
)

func TestDecompress(t *testing.T) {
	plain := []byte(strings.Repeat("Package: a\nVersion: 1\n\n", 1000) + "Package: z\n")
	want := fmt.Sprintf("%x", sha256.Sum256(plain))
	dir := t.TempDir()
	for _, tc := range []struct {
		name, ext string
		data      []byte
		noXZ      bool
	}{
		{"gzip", ".gz", gzBytes(t, plain), false},
		{"xz(1)", ".xz", xzBytes(t, plain), false},
		{"pure Go xz", ".xz", xzBytes(t, plain), true},
		{"plain", "", plain, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.noXZ {
				t.Setenv("PATH", "")
			}
			src := filepath.Join(dir, "in"+tc.ext)
			os.WriteFile(src, tc.data, 0o644)
			dst := filepath.Join(dir, "out-"+tc.name)
			n, sum, stanzas, err := decompress(context.Background(), run.New(nil), src, dst, tc.ext, int64(len(plain)))
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(plain)) || sum != want || stanzas != 1001 {
				t.Errorf("decompress = %d bytes, %s, %d stanzas; want %d, %s, 1001", n, sum, stanzas, len(plain), want)
			}
		})
	}
	// More output than the Release says stops early and leaves no output.
	for _, noXZ := range []bool{false, true} {
		if noXZ {
			t.Setenv("PATH", "")
		}
		src := filepath.Join(dir, "big.xz")
		os.WriteFile(src, xzBytes(t, plain), 0o644)
		out := filepath.Join(dir, "big")
		if _, _, _, err := decompress(context.Background(), run.New(nil), src, out, ".xz", 100); err == nil {
			t.Errorf("decompress past the limit succeeded (no xz(1): %v)", noXZ)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("decompress past the limit left output: %v", err)
		}
	}
	// Corrupt compressed input fails and leaves no output.
	src := filepath.Join(dir, "bad.xz")
	os.WriteFile(src, []byte("not xz at all"), 0o644)
	if _, _, _, err := decompress(context.Background(), run.New(nil), src, filepath.Join(dir, "bad"), ".xz", 100); err == nil {
		t.Error("decompress of garbage succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); !os.IsNotExist(err) {
		t.Errorf("garbage left output: %v", err)
	}
}

func TestStanzaCounter(t *testing.T) {
	text := "Package: a\nX: 1\n\nPackage: b\nDescription: Package: no\n Package: no\n\nPackage: c\n"
	for _, chunk := range []int{1, 2, 3, 7, 9, 10, 11, len(text)} {
		c := &stanzaCounter{}
		for i := 0; i < len(text); i += chunk {
			c.Write([]byte(text[i:min(len(text), i+chunk)]))
		}
		if c.count() != 3 {
			t.Errorf("chunks of %d: count = %d; want 3", chunk, c.count())
		}
	}
}
