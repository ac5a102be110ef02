package env

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/packyard/packyard/internal/config"
)

func writeSession(t *testing.T, m *Manager, id string, rec SessionRecord) string {
	t.Helper()
	dir := filepath.Join(m.SessionsDir(), id)
	if err := os.MkdirAll(filepath.Join(dir, "upper", "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(rec)
	if err := os.WriteFile(filepath.Join(dir, "session.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGC(t *testing.T) {
	cfg := config.Default(t.TempDir(), "bookworm", "amd64", nil)
	m := NewManager(cfg, nil, nil)
	self, err := procStartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	live := writeSession(t, m, "live", SessionRecord{ID: "live", PID: os.Getpid(), StartTime: self})
	dead := writeSession(t, m, "dead", SessionRecord{ID: "dead", PID: 1 << 30, StartTime: 1})
	reused := writeSession(t, m, "reused", SessionRecord{ID: "reused", PID: os.Getpid(), StartTime: self + 1})
	kept := writeSession(t, m, "kept", SessionRecord{ID: "kept", PID: 1 << 30, StartTime: 1, Kept: true})

	envs := cfg.WorkspaceDir().Envs()
	oldFree := filepath.Join(envs, ".old-bookworm-amd64-buildd-aaaa")
	oldBusy := filepath.Join(envs, ".old-bookworm-amd64-buildd-bbbb")
	partial := filepath.Join(envs, ".new-bookworm-amd64-buildd-cccc")
	for _, d := range []string{oldFree, oldBusy, partial} {
		if err := os.MkdirAll(filepath.Join(d, "root"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	busy, err := lockShared(filepath.Join(oldBusy, "use.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	rep, err := m.GC(context.Background())
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	for _, d := range []string{live, kept, oldBusy} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("GC removed %s, which is in use or kept", filepath.Base(d))
		}
	}
	for _, d := range []string{dead, reused, oldFree, partial} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("GC left %s behind", filepath.Base(d))
		}
	}
	if len(rep.Sessions) != 2 || len(rep.Partial) != 2 {
		t.Errorf("GC report = %+v; want 2 sessions and 2 partial environments", rep)
	}
}

func TestReplaceDirKeepsOldInUse(t *testing.T) {
	base := t.TempDir()
	final := filepath.Join(base, "bookworm-amd64-buildd")
	for i, inUse := range []bool{false, true} {
		if err := os.MkdirAll(filepath.Join(final, "root"), 0o755); err != nil {
			t.Fatal(err)
		}
		var held *os.File
		if inUse {
			var err error
			if held, err = lockShared(filepath.Join(final, "use.lock")); err != nil {
				t.Fatal(err)
			}
		}
		tmp := filepath.Join(base, ".new-x")
		if err := os.MkdirAll(filepath.Join(tmp, "root", "new"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := NewManager(config.Default(base, "bookworm", "amd64", nil), nil, nil).replaceDir(tmp, final); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(final, "root", "new")); err != nil {
			t.Errorf("round %d: new environment not in place: %v", i, err)
		}
		olds, _ := filepath.Glob(filepath.Join(base, ".old-*"))
		if inUse && len(olds) != 1 {
			t.Errorf("round %d: old environment in use was removed (olds %v)", i, olds)
		}
		if !inUse && len(olds) != 0 {
			t.Errorf("round %d: unused old environment kept: %v", i, olds)
		}
		if held != nil {
			held.Close()
		}
		// The new environment has no use.lock yet: drop the marker dir for
		// the next round.
		_ = os.RemoveAll(filepath.Join(final, "root", "new"))
	}
}
