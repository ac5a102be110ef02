package env

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTreeDigest(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "a"), []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(root, "etc", "link")); err != nil {
		t.Fatal(err)
	}
	meta, _ := TreeDigest(root, false)
	content, _ := TreeDigest(root, true)
	// Same size, different content: only the content digest sees it.
	if err := os.WriteFile(filepath.Join(root, "etc", "a"), []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := TreeDigest(root, false); got != meta {
		t.Error("metadata digest changed with same-size content")
	}
	if got, _ := TreeDigest(root, true); got == content {
		t.Error("content digest missed a content change")
	}
	if err := os.Chmod(filepath.Join(root, "etc", "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, _ := TreeDigest(root, false); got == meta {
		t.Error("metadata digest missed a mode change")
	}
	if err := os.Remove(filepath.Join(root, "etc", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("b", filepath.Join(root, "etc", "link")); err != nil {
		t.Fatal(err)
	}
	if got, _ := TreeDigest(root, false); got == meta {
		t.Error("metadata digest missed a symlink target change")
	}
}
