package env

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/config"
)

// TestKeptSessions: build.kept-max-age removes kept sessions kept longer
// than it, never an open one (an env shell holds its lock), a recent one
// or a running build's; with no age set, kept sessions stay. Removing one
// by hand refuses open and not-kept sessions.
func TestKeptSessions(t *testing.T) {
	cfg := config.Default(t.TempDir(), "bookworm", "amd64", nil)
	m := NewManager(cfg, nil, nil)
	self, err := procStartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	old := func(id string) string {
		return writeSession(t, m, id, SessionRecord{ID: id, Env: "bookworm-amd64-buildd", PID: 1 << 30, StartTime: 1, Kept: true, KeptAt: now.Add(-48 * time.Hour)})
	}
	oldClosed, oldOpen := old("old-closed"), old("old-open")
	recent := writeSession(t, m, "recent", SessionRecord{ID: "recent", PID: 1 << 30, StartTime: 1, Kept: true, KeptAt: now.Add(-time.Hour)})
	// Kept before packyard recorded KeptAt: its record's time counts.
	legacy := writeSession(t, m, "legacy", SessionRecord{ID: "legacy", PID: 1 << 30, StartTime: 1, Kept: true})
	past := now.Add(-72 * time.Hour)
	if err := os.Chtimes(filepath.Join(legacy, "session.json"), past, past); err != nil {
		t.Fatal(err)
	}
	running := writeSession(t, m, "running", SessionRecord{ID: "running", PID: os.Getpid(), StartTime: self})
	if err := os.WriteFile(filepath.Join(oldClosed, "upper", "etc", "big"), make([]byte, 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	shell, err := lockShared(filepath.Join(oldOpen, sessionLock))
	if err != nil {
		t.Fatal(err)
	}
	defer shell.Close()

	kept, err := m.KeptSessions()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range kept {
		ids = append(ids, k.ID)
		if k.Open != (k.ID == "old-open") {
			t.Errorf("%s: Open = %v", k.ID, k.Open)
		}
	}
	if want := []string{"legacy", "old-closed", "old-open", "recent"}; !slices.Equal(ids, want) {
		t.Errorf("KeptSessions = %v; want %v (oldest first)", ids, want)
	}

	// No kept-max-age: nothing kept is collected.
	if rep, err := m.GC(context.Background()); err != nil || len(rep.Kept) != 0 {
		t.Fatalf("GC without kept-max-age = %+v, %v; want nothing kept removed", rep, err)
	}
	cfg.Build.KeptMaxAge = config.Duration(24 * time.Hour)
	rep, err := m.GC(context.Background())
	if err != nil {
		t.Fatalf("GC: %v", err)
	}
	slices.Sort(rep.Kept)
	if !slices.Equal(rep.Kept, []string{"legacy", "old-closed"}) || rep.KeptBytes < 5000 {
		t.Errorf("GC removed kept %v (%d bytes); want legacy and old-closed, at least 5000 bytes", rep.Kept, rep.KeptBytes)
	}
	for _, d := range []string{oldOpen, recent, running} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("GC removed %s", filepath.Base(d))
		}
	}
	for _, d := range []string{oldClosed, legacy} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("GC left %s", filepath.Base(d))
		}
	}

	for id, want := range map[string]string{"old-open": "is open", "running": "was not kept", "missing": "no such session", "../x": "not valid"} {
		if err := m.RemoveKeptSession(id); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("RemoveKeptSession(%s) = %v; want an error saying %q", id, err, want)
		}
	}
	if err := m.RemoveKeptSession("recent"); err != nil {
		t.Fatalf("RemoveKeptSession(recent): %v", err)
	}
	if _, err := os.Stat(recent); err == nil {
		t.Error("RemoveKeptSession left the directory")
	}
	shell.Close()
	if err := m.RemoveKeptSession("old-open"); err != nil {
		t.Errorf("RemoveKeptSession after the shell left: %v", err)
	}
}
