package repo

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ulikunitz/xz"
)

// TestLazyLZMA2 decodes streams made by xz (liblzma): text at -9e, text
// with lc=0 lp=2 pb=0, and 70 KB of random bytes (an uncompressed chunk)
// followed by text (LZMA chunks with and without new properties). The
// oracle is the full streaming decoder.
func TestLazyLZMA2(t *testing.T) {
	for _, name := range []string{"text9e.xz", "lclp.xz", "mixed.xz"} {
		t.Run(name, func(t *testing.T) {
			stream, err := os.ReadFile(filepath.Join("testdata", "lzma", name))
			fatalIf(t, err)
			zr, err := xz.NewReader(bytes.NewReader(stream))
			fatalIf(t, err)
			want, err := io.ReadAll(zr)
			fatalIf(t, err)
			got, err := io.ReadAll(smallXZ(stream))
			if err != nil {
				t.Fatalf("smallXZ: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("smallXZ decoded %d bytes differing from the %d of xz.NewReader", len(got), len(want))
			}
			// Reading a prefix decodes about that much, not the stream.
			d := smallXZ(stream).(*lazyLZMA2)
			buf := make([]byte, 1000)
			if _, err := io.ReadFull(d, buf); err != nil || !bytes.Equal(buf, want[:1000]) {
				t.Fatalf("first 1000 bytes: %v", err)
			}
			if len(d.out) > 1000+lzmaMatchMax {
				t.Errorf("reading 1000 bytes decoded %d", len(d.out))
			}
		})
	}
}

// TestLazyLZMA2Corrupt feeds damaged streams: each must end in an error
// or in output, never a panic or a hang.
func TestLazyLZMA2Corrupt(t *testing.T) {
	stream, err := os.ReadFile(filepath.Join("testdata", "lzma", "mixed.xz"))
	fatalIf(t, err)
	for i := 0; i < 100; i++ {
		bad := append([]byte(nil), stream...)
		pos := 12 + (i*7919)%(len(bad)-12)
		bad[pos] ^= byte(1 << (i % 8))
		if i%5 == 0 {
			bad = bad[:pos]
		}
		io.Copy(io.Discard, smallXZ(bad))
	}
}

func fatalIf(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
