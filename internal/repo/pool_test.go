package repo

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestAddLinksOnlyRunOutputs checks which inputs Add hard-links into the
// pool: packyard's own build results in the workspace's runs directory
// (world-readable), and nothing else — neither a user's file, nor a link
// from the runs directory to one, nor a file others cannot read.
func TestAddLinksOnlyRunOutputs(t *testing.T) {
	r, _ := newTestRepo(t)
	runDir := filepath.Join(r.cfg.WorkspaceDir().Runs(), "20260101-000000-build", "artifacts")
	must(t, os.MkdirAll(runDir, 0o755))
	user := t.TempDir()
	private := writeTestDeb(t, runDir, "private", "1.0", "amd64", "")
	must(t, os.Chmod(private, 0o600))
	outside := writeTestDeb(t, user, "outside", "1.0", "amd64", "")
	symlinked := filepath.Join(runDir, "symlinked_1.0_amd64.deb")
	must(t, os.Symlink(writeTestDeb(t, user, "symlinked", "1.0", "amd64", ""), symlinked))
	cases := []struct {
		in, pool string
		linked   bool
	}{
		{writeTestDeb(t, runDir, "built", "1.0", "amd64", ""), "pool/main/b/built/built_1.0_amd64.deb", true},
		{outside, "pool/main/o/outside/outside_1.0_amd64.deb", false},
		{symlinked, "pool/main/s/symlinked/symlinked_1.0_amd64.deb", false},
		{private, "pool/main/p/private/private_1.0_amd64.deb", false},
	}
	for _, c := range cases {
		if _, err := r.Add(context.Background(), testDist, c.in); err != nil {
			t.Fatalf("Add(%s): %v", c.in, err)
		}
		in, err := os.Stat(c.in)
		must(t, err)
		pooled, err := os.Stat(filepath.Join(r.Root(), c.pool))
		must(t, err)
		if got := os.SameFile(in, pooled); got != c.linked {
			t.Errorf("%s: pool file is the input's inode = %v; want %v", filepath.Base(c.in), got, c.linked)
		}
		if pooled.Mode().Perm()&0o444 != 0o444 {
			t.Errorf("%s: pool file mode %v; want readable by all", c.pool, pooled.Mode())
		}
	}
}
