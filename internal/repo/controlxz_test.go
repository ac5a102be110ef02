package repo

import (
	"archive/tar"
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
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
// in the tarball, and after 100 KiB of other data; and checks that reading
// the first stops early (the decoder decodes only what is read).
func TestControlFromTarXZ(t *testing.T) {
	rnd := make([]byte, 100<<10)
	for i := range rnd {
		rnd[i] = byte(rand.IntN(256))
	}
	control := "Package: hello\nVersion: 2.10-3\nArchitecture: amd64\nDescription: example\n"
	far := "Package: far\nVersion: 1\nX-Blob: " + hex.EncodeToString(rnd[:2048]) + "\n"
	tests := []struct {
		name   string
		files  [][2]string
		want   string
		atMost int // compressed bytes read, at most
	}{
		{"control first", [][2]string{{"control", control}, {"md5sums", string(rnd)}}, "hello", 32 << 10},
		{"control far", [][2]string{{"blob", hex.EncodeToString(rnd)}, {"control", far}}, "far", 1 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			member := controlTarXZ(t, tt.files)
			in := bytes.NewReader(member)
			st, err := controlFromTar("control.tar.xz", in)
			if err != nil {
				t.Fatalf("controlFromTar: %v", err)
			}
			if got := st.get("Package"); got != tt.want {
				t.Errorf("Package = %q; want %q", got, tt.want)
			}
			if read := len(member) - in.Len(); read > tt.atMost {
				t.Errorf("read %d of %d compressed bytes; want at most %d", read, len(member), tt.atMost)
			}
		})
	}
}

// TestControlXZDamaged refuses members that are not xz or are damaged,
// with an error and never a panic, and the decoders handed back after a
// failure still read a good member.
func TestControlXZDamaged(t *testing.T) {
	member := controlTarXZ(t, [][2]string{{"control", "Package: a\n"}})
	for _, bad := range [][]byte{nil, []byte("not xz"), member[:14], append([]byte{0}, member...)} {
		if _, err := controlFromTar("control.tar.xz", bytes.NewReader(bad)); err == nil {
			t.Errorf("controlFromTar(%q) succeeded; want an error", bad)
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
	for i := 0; i < 2*cap(xzReaders.c); i++ {
		st, err := controlFromTar("control.tar.xz", bytes.NewReader(member))
		if err != nil || st.get("Package") != "a" {
			t.Fatalf("after damaged members: %v, %v", st, err)
		}
	}
}

// must fails the test on a non-nil err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestControlTooLarge refuses a control file of more than 1 MiB by name
// and size instead of parsing part of it.
func TestControlTooLarge(t *testing.T) {
	big := "Package: big\nVersion: 1\nDescription: x\n" + strings.Repeat(" .\n", 1<<19)
	_, err := controlFromTar("control.tar.xz", bytes.NewReader(controlTarXZ(t, [][2]string{{"control", big}})))
	if err == nil || !strings.Contains(err.Error(), "at most 1 MiB") {
		t.Fatalf("controlFromTar of a %d-byte control file: %v; want a refusal naming the 1 MiB limit", len(big), err)
	}
}
