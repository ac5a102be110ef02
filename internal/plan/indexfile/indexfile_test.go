package indexfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadPackagesAndSources(t *testing.T) {
	dir := filepath.Join("..", "testdata", "dosecases")
	bins, err := ReadPackages(filepath.Join(dir, "Packages"))
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := ReadSources(filepath.Join(dir, "Sources"))
	if err != nil {
		t.Fatal(err)
	}
	for file, got := range map[string]int{"Packages": len(bins), "Sources": len(srcs)} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Count(string(data), "\nPackage: ") + 1; got != want || got == 0 {
			t.Errorf("%s: read %d packages; the file has %d", file, got, want)
		}
	}
	if _, err := ReadPackages(filepath.Join(dir, "no-such-index")); err == nil {
		t.Error("ReadPackages of a missing file succeeded")
	}
}
