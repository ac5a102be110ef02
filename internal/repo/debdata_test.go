package repo

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/packyard/packyard/internal/run"
)

// xzOf compresses data with xz(1) and the given options.
func xzOf(t *testing.T, data []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("xz", append([]string{"--stdout", "--quiet"}, args...)...)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xz %v: %v", args, err)
	}
	return out
}

// tarOf returns a tar archive of n regular files named dir/file-<i>, each
// of size bytes of text.
func tarOf(t *testing.T, n, size int) ([]byte, []string) {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	must(t, tw.WriteHeader(&tar.Header{Name: "./usr/", Typeflag: tar.TypeDir, Mode: 0o755}))
	var names []string
	body := bytes.Repeat([]byte("packyard contents line\n"), size/23+1)[:size]
	for i := range n {
		name := fmt.Sprintf("usr/share/doc/file-%03d", i)
		must(t, tw.WriteHeader(&tar.Header{Name: "./" + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(size)}))
		_, err := tw.Write(body)
		must(t, err)
		names = append(names, name)
	}
	must(t, tw.Close())
	return b.Bytes(), names
}

// debWith returns a .deb (ar archive) with a control.tar.gz and the given
// data member.
func debWith(t *testing.T, dataName string, data []byte) []byte {
	t.Helper()
	base, err := buildDeb("Package: t\nVersion: 1\nArchitecture: all\n", nil)
	must(t, err)
	// buildDeb's archive ends with its data.tar.gz member: replace it.
	i := bytes.LastIndex(base, []byte("data.tar.gz"))
	out := append([]byte{}, base[:i]...)
	out = fmt.Appendf(out, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", dataName, 0, 0, 0, "100644", len(data))
	out = append(out, data...)
	if len(data)%2 == 1 {
		out = append(out, '\n')
	}
	return out
}

func TestXZStreamSize(t *testing.T) {
	text, _ := tarOf(t, 40, 3000)
	for _, args := range [][]string{
		{"-6"},
		{"-0", "--check=none"},
		{"-1", "--check=sha256"},
		{"-1", "--block-size=8KiB"}, // many blocks, as xz -T writes them
	} {
		s := xzOf(t, text, args...)
		n, err := xzStreamSize(bytes.NewReader(s), int64(len(s)))
		if err != nil || n != int64(len(s)) {
			t.Errorf("xz %v: xzStreamSize = %d, %v; want %d", args, n, err, len(s))
		}
		// With bytes before it (as in an ar archive), the stream is found by its end.
		in := append([]byte("!<arch>\nsomething else"), s...)
		if n, err := xzStreamSize(bytes.NewReader(in), int64(len(in))); err != nil || n != int64(len(s)) {
			t.Errorf("xz %v after other bytes: xzStreamSize = %d, %v; want %d", args, n, err, len(s))
		}
	}
	// Two concatenated streams: only the last is measured, so a caller
	// comparing with the member's size sees that it is not one stream.
	a, b := xzOf(t, text[:len(text)/2], "-1"), xzOf(t, text[len(text)/2:], "-1")
	two := append(append([]byte{}, a...), b...)
	if n, err := xzStreamSize(bytes.NewReader(two), int64(len(two))); err != nil || n != int64(len(b)) {
		t.Errorf("two streams: xzStreamSize = %d, %v; want the last stream's %d", n, err, len(b))
	}
	for name, bad := range map[string][]byte{
		"gzip":      []byte(strings.Repeat("\x1f\x8b\x08", 20)),
		"short":     []byte("YZ"),
		"truncated": two[:len(two)-5],
	} {
		if n, err := xzStreamSize(bytes.NewReader(bad), int64(len(bad))); err == nil {
			t.Errorf("%s: xzStreamSize = %d, want an error", name, n)
		}
	}
}

// listDeb lists the data member of the .deb at p, through xz(1) when rn is
// non-nil.
func listDeb(t *testing.T, rn *run.Runner, p string) ([]string, error) {
	t.Helper()
	var files []string
	_, err := readDebControl(context.Background(), rn, p, &files)
	return files, err
}

// TestListDataXZ lists data.tar.xz members through listTarXZAt (xz(1)
// reading the package file) and checks the result against the tar's names
// and against the pure Go decoder, for a one-stream member (what dpkg-deb
// writes), a member of two concatenated streams (listed by the older path,
// which feeds xz through a pipe), and real bookworm udebs.
func TestListDataXZ(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz(1) is not installed")
	}
	rn := run.New(nil)
	dir := t.TempDir()
	text, names := tarOf(t, 300, 5000)
	one := filepath.Join(dir, "one_1_all.deb")
	must(t, os.WriteFile(one, debWith(t, "data.tar.xz", xzOf(t, text, "-6", "-T2", "--block-size=256KiB")), 0o644))
	got, err := listDeb(t, rn, one)
	if err != nil || !slices.Equal(got, names) {
		t.Fatalf("one stream: listed %d files (%v), want %d", len(got), err, len(names))
	}
	goDecoded, err := listDeb(t, nil, one)
	if err != nil || !slices.Equal(goDecoded, got) {
		t.Errorf("Go decoder lists %d files (%v), xz(1) %d", len(goDecoded), err, len(got))
	}

	// Two streams (a tar split in two): --single-stream would list only
	// the first half; the member must be seen as not one stream.
	two := filepath.Join(dir, "two_1_all.deb")
	half := len(text) / 2
	must(t, os.WriteFile(two, debWith(t, "data.tar.xz", append(xzOf(t, text[:half], "-1"), xzOf(t, text[half:], "-1")...)), 0o644))
	if got, err := listDeb(t, rn, two); err != nil || !slices.Equal(got, names) {
		t.Errorf("two streams: listed %d files (%v), want %d", len(got), err, len(names))
	}

	for _, u := range []string{"efi-reader_0.16_amd64.udeb", "usb-discover_1.13_all.udeb"} {
		p := filepath.Join("testdata", "udeb", u)
		viaXZ, err := listDeb(t, rn, p)
		must(t, err)
		viaGo, err := listDeb(t, nil, p)
		must(t, err)
		if len(viaXZ) == 0 || !slices.Equal(viaXZ, viaGo) {
			t.Errorf("%s: xz(1) lists %v, Go %v", u, viaXZ, viaGo)
		}
	}
}

// TestListDataXZDamaged: a data.tar.xz damaged in its middle, or only in
// its block's check (all of the tar decodes, but xz(1) fails), is an
// error, never a silently shorter or unverified file list.
func TestListDataXZDamaged(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz(1) is not installed")
	}
	text, _ := tarOf(t, 200, 4000)
	clean := xzOf(t, text, "-6", "--check=crc64")
	middle := append([]byte{}, clean...)
	for i := len(middle) / 3; i < len(middle)/3+16; i++ {
		middle[i] ^= 0x55
	}
	check := append([]byte{}, clean...)
	backward := (int(binary.LittleEndian.Uint32(check[len(check)-8:])) + 1) * 4
	check[len(check)-12-backward-1] ^= 0x55 // the last byte of the block's CRC64
	for name, member := range map[string][]byte{"middle": middle, "check": check} {
		p := filepath.Join(t.TempDir(), "bad_1_all.deb")
		must(t, os.WriteFile(p, debWith(t, "data.tar.xz", member), 0o644))
		files, err := listDeb(t, run.New(nil), p)
		if err == nil {
			t.Errorf("%s: damaged data.tar.xz listed %d files without an error", name, len(files))
		} else if !strings.Contains(err.Error(), "data.tar.xz") {
			t.Errorf("%s: error %q does not name the member", name, err)
		}
	}
}
