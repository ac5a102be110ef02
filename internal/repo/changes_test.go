package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeChanges writes a .changes listing files (all in dir) with correct
// checksums, then applies corrupt to the text.
func writeChanges(t *testing.T, dir, source string, files []string, corrupt func(string) string) string {
	t.Helper()
	var md5s, sha1s, sha256s strings.Builder
	for _, f := range files {
		sum, err := sumFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&md5s, "\n %s %d misc optional %s", sum.MD5, sum.Size, f)
		fmt.Fprintf(&sha1s, "\n %s %d %s", sum.SHA1, sum.Size, f)
		fmt.Fprintf(&sha256s, "\n %s %d %s", sum.SHA256, sum.Size, f)
	}
	text := fmt.Sprintf("Format: 1.8\nSource: %s\nVersion: 1.0-1\nDistribution: unstable\nChecksums-Sha1:%s\nChecksums-Sha256:%s\nFiles:%s\n", source, sha1s.String(), sha256s.String(), md5s.String())
	if corrupt != nil {
		text = corrupt(text)
	}
	p := filepath.Join(dir, source+"_1.0-1_amd64.changes")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAddChanges(t *testing.T) {
	r, _ := newTestRepo(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeTestDeb(t, dir, "omega", "1.0-1", "amd64", "")
	os.WriteFile(filepath.Join(dir, "omega_1.0-1_amd64.buildinfo"), []byte("Format: 1.0\nSource: omega\n"), 0o644)
	files := []string{"omega_1.0-1_amd64.deb", "omega_1.0-1_amd64.buildinfo"}

	bad := writeChanges(t, dir, "omega", files, func(s string) string {
		sum, _ := sumFile(filepath.Join(dir, files[0]))
		return strings.Replace(s, sum.SHA256, strings.Repeat("a", 64), 1)
	})
	var ce *ChecksumError
	if _, err := r.Add(ctx, testDist, bad); !errors.As(err, &ce) || ce.Algorithm != "SHA256" {
		t.Fatalf("Add(corrupt .changes) = %v; want SHA256 *ChecksumError", err)
	}
	if _, err := os.Stat(filepath.Join(r.Root(), "dists", testDist)); !os.IsNotExist(err) {
		t.Errorf("corrupt .changes published something: %v", err)
	}
	trick := writeChanges(t, dir, "omega", files, func(s string) string {
		return strings.Replace(s, " omega_1.0-1_amd64.buildinfo", " ../omega_1.0-1_amd64.buildinfo", 1)
	})
	var ue *UnsafeNameError
	if _, err := r.Add(ctx, testDist, trick); !errors.As(err, &ue) {
		t.Fatalf("Add(path trick) = %v; want *UnsafeNameError", err)
	}
	good := writeChanges(t, dir, "omega", files, nil)
	res, err := r.Add(ctx, testDist, good)
	if err != nil {
		t.Fatalf("Add(.changes) = %v", err)
	}
	if len(res.Added) != 1 || res.Added[0].Package != "omega" {
		t.Errorf("Added = %+v; want omega", res.Added)
	}
	for _, f := range append(files, "omega_1.0-1_amd64.changes") {
		if _, err := os.Stat(filepath.Join(r.Root(), "pool/main/o/omega", f)); err != nil {
			t.Errorf("pool lacks %s: %v", f, err)
		}
	}
}
