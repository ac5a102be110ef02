package archive

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"
)

func TestLoadAnyIndexFile(t *testing.T) {
	const idx = "Package: a\nVersion: 1\n\nPackage: b\nVersion: 2\n"
	xzData := func() []byte {
		var b bytes.Buffer
		w, _ := xz.NewWriter(&b)
		w.Write([]byte(idx))
		w.Close()
		return b.Bytes()
	}
	gzData := func() []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(idx))
		w.Close()
		return b.Bytes()
	}
	for _, tt := range []struct {
		name string
		file string
		data []byte
	}{
		{"plain", "Sources", []byte(idx)},
		{"xz only", "Sources.xz", xzData()},
		{"gz only", "Sources.gz", gzData()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, tt.file), tt.data, 0o644)
			ps, err := LoadAnyIndexFile(filepath.Join(dir, "Sources"))
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 2 || ps[1].Get("Package") != "b" || ps[1].Get("Version") != "2" {
				t.Errorf("got %d paragraphs %v", len(ps), ps)
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		_, err := LoadAnyIndexFile(filepath.Join(t.TempDir(), "Sources"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v; want fs.ErrNotExist", err)
		}
	})
	t.Run("corrupt xz", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "Sources.xz"), []byte("not xz"), 0o644)
		if _, err := LoadAnyIndexFile(filepath.Join(dir, "Sources")); err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v; want a decoding error", err)
		}
	})
}
