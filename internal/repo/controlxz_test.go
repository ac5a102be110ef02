package repo

import (
	"archive/tar"
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// controlTarXZ returns a control.tar.xz holding files in order.
func controlTarXZ(t *testing.T, files [][2]string) []byte {
	t.Helper()
	var b bytes.Buffer
	z, err := xz.NewWriter(&b)
	must(t, err)
	tw := tar.NewWriter(z)
	for _, f := range files {
		must(t, tw.WriteHeader(&tar.Header{Name: "./" + f[0], Mode: 0o644, Size: int64(len(f[1])), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(f[1]))
		must(t, err)
	}
	must(t, tw.Close())
	must(t, z.Close())
	return b.Bytes()
}

// TestControlFromTarXZ reads ./control from control.tar.xz members: first
// in the tarball (read from the stream's head), and after 100 KiB whose
// start control repeats (a back-reference beyond the small dictionary,
// read by decoding the whole stream).
func TestControlFromTarXZ(t *testing.T) {
	rnd := make([]byte, 100<<10)
	for i := range rnd {
		rnd[i] = byte(rand.IntN(256))
	}
	control := "Package: hello\nVersion: 2.10-3\nArchitecture: amd64\nDescription: example\n"
	far := "Package: far\nVersion: 1\nX-Blob: " + hex.EncodeToString(rnd[:2048]) + "\n"
	tests := []struct {
		name     string
		files    [][2]string
		want     string
		fromHead bool
	}{
		{"control first", [][2]string{{"control", control}, {"md5sums", string(rnd)}}, "hello", true},
		{"control far", [][2]string{{"blob", hex.EncodeToString(rnd)}, {"control", far}}, "far", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			member := controlTarXZ(t, tt.files)
			st, err := controlFromTar("control.tar.xz", bytes.NewReader(member))
			if err != nil {
				t.Fatalf("controlFromTar: %v", err)
			}
			if got := st.get("Package"); got != tt.want {
				t.Errorf("Package = %q; want %q", got, tt.want)
			}
			if _, fromHead := controlFromXZHead("control.tar.xz", member); fromHead != tt.fromHead {
				t.Errorf("read from the head of the stream: %v; want %v", fromHead, tt.fromHead)
			}
		})
	}
}

// TestControlXZHeadRejects refuses streams it cannot read from their
// head, and never panics on damaged ones.
func TestControlXZHeadRejects(t *testing.T) {
	member := controlTarXZ(t, [][2]string{{"control", "Package: a\n"}})
	for _, bad := range [][]byte{nil, []byte("not xz"), member[:14], append([]byte{0}, member...)} {
		if _, err := controlXZHead(bad, lzma.MinDictCap); err == nil {
			t.Errorf("controlXZHead(%q) succeeded; want an error", bad)
		}
	}
	for i := 0; i < 200; i++ {
		bad := append([]byte(nil), member...)
		pos := (i * 7919) % len(bad)
		bad[pos] ^= byte(1 << (i % 8))
		if i%5 == 0 {
			bad = bad[:pos]
		}
		controlFromTar("control.tar.xz", bytes.NewReader(bad))
	}
}

// must fails the test on a non-nil err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
