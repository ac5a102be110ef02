package archive

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerifyLocalDSC(t *testing.T) {
	src := helloSource("2.10-3")
	write := func(t *testing.T, dsc []byte, files map[string][]byte) string {
		dir := t.TempDir()
		for n, c := range files {
			os.WriteFile(filepath.Join(dir, n), c, 0o644)
		}
		p := filepath.Join(dir, src.dscName())
		os.WriteFile(p, dsc, 0o644)
		return p
	}
	t.Run("ok", func(t *testing.T) {
		ref, err := VerifyLocalDSC(write(t, src.dsc(), src.files))
		if err != nil || ref.Package != "hello" || ref.Version != "2.10-3" || len(ref.Files) != 3 || ref.Files[0].Name != src.dscName() {
			t.Fatalf("VerifyLocalDSC = %+v, %v", ref, err)
		}
	})
	t.Run("wrong hash", func(t *testing.T) {
		files := map[string][]byte{}
		for n, c := range src.files {
			files[n] = c
		}
		files["hello_2.10.orig.tar.gz"] = []byte("orig tarball 2.10-X")
		_, err := VerifyLocalDSC(write(t, src.dsc(), files))
		var hm *HashMismatchError
		if !errors.As(err, &hm) || hm.Source != ".dsc" || !strings.HasSuffix(hm.File, "hello_2.10.orig.tar.gz") {
			t.Fatalf("VerifyLocalDSC = %v; want *HashMismatchError for the orig tarball", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := VerifyLocalDSC(write(t, src.dsc(), map[string][]byte{}))
		if err == nil || !strings.Contains(err.Error(), "missing beside it") {
			t.Fatalf("VerifyLocalDSC = %v; want a missing-file error", err)
		}
	})
	t.Run("unsafe name", func(t *testing.T) {
		dsc := strings.Replace(string(src.dsc()), "hello_2.10.orig.tar.gz", "../../etc/passwd", 1)
		_, err := VerifyLocalDSC(write(t, []byte(dsc), src.files))
		if err == nil || !strings.Contains(err.Error(), "unsafe") {
			t.Fatalf("VerifyLocalDSC = %v; want an unsafe-name error", err)
		}
	})
	t.Run("not a dsc", func(t *testing.T) {
		_, err := VerifyLocalDSC(write(t, []byte("Package: x\n"), nil))
		if err == nil || !strings.Contains(err.Error(), "not a .dsc") {
			t.Fatalf("VerifyLocalDSC = %v", err)
		}
	})
}
