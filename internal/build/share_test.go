package build

import (
	"os"
	"path/filepath"
	"testing"
)

func TestIsUpstreamTarball(t *testing.T) {
	for name, want := range map[string]bool{
		"hello_2.10.orig.tar.gz":      true,
		"hello_2.10.orig.tar.gz.asc":  true,
		"foo_1.0.orig-docs.tar.xz":    true,
		"hello_2.10-3.debian.tar.xz":  false,
		"hello_2.10-3.dsc":            false,
		"native_1.0.tar.xz":           false,
		"old_1.0-1.diff.gz":           false,
		"origami_1.0.orig.tar.bz2":    true,
		"origami_1.0-1.debian.tar.xz": false,
	} {
		if got := isUpstreamTarball(name); got != want {
			t.Errorf("isUpstreamTarball(%q) = %t; want %t", name, got, want)
		}
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	sa, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	return os.SameFile(sa, sb)
}

func TestLinkOrCopy(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "a.deb"), filepath.Join(dir, "out", "a.deb")
	if err := os.WriteFile(src, []byte("deb"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Mkdir(filepath.Dir(dst), 0o755)
	if err := os.WriteFile(dst, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	linked, err := linkOrCopy(src, dst)
	if err != nil || !linked {
		t.Fatalf("linkOrCopy = %t, %v; want a link", linked, err)
	}
	if !sameFile(t, src, dst) {
		t.Errorf("%s is not a hard link to %s", dst, src)
	}
	if !ownedByCaller(dst) {
		t.Errorf("%s is not owned by the caller", dst)
	}
}

func TestShareFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		mode os.FileMode
		want bool // linked
	}{
		{"readable.orig.tar.gz", 0o644, true},
		{"private.orig.tar.gz", 0o600, false},
		{"writable.orig.tar.gz", 0o666, false},
	}
	for _, tt := range tests {
		src, dst := filepath.Join(dir, tt.name), filepath.Join(dir, "build-"+tt.name)
		if err := os.WriteFile(src, []byte(tt.name), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(src, tt.mode); err != nil {
			t.Fatal(err)
		}
		linked, err := shareFile(src, dst)
		if err != nil {
			t.Fatalf("shareFile(%s): %v", tt.name, err)
		}
		if linked != tt.want || sameFile(t, src, dst) != tt.want {
			t.Errorf("shareFile(%s mode %v) linked = %t; want %t", tt.name, tt.mode, linked, tt.want)
		}
		if st, _ := os.Stat(dst); st.Mode().Perm()&0o004 == 0 {
			t.Errorf("shareFile(%s): result mode %v is not readable by the build user", tt.name, st.Mode().Perm())
		}
		if data, _ := os.ReadFile(dst); string(data) != tt.name {
			t.Errorf("shareFile(%s): content %q; want %q", tt.name, data, tt.name)
		}
	}
}
