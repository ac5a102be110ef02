//go:build integration

package env_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/env/envtest"
)

func TestShellIsThrowAway(t *testing.T) {
	_, mgr, e := envtest.Env(t)
	var out bytes.Buffer
	err := mgr.Shell(context.Background(), e, env.ShellOptions{Stdout: &out, Stderr: &out,
		Command: []string{"sh", "-c", "echo scratch > /etc/packyard-shell-marker && cat /etc/debian_version"}})
	if err != nil {
		t.Fatalf("Shell: %v\n%s", err, out.String())
	}
	if !strings.HasPrefix(out.String(), "12.") {
		t.Errorf("Shell output = %q; want the bookworm version", out.String())
	}
	out.Reset()
	err = mgr.Shell(context.Background(), e, env.ShellOptions{Stdout: &out, Stderr: &out,
		Command: []string{"sh", "-c", "test ! -e /etc/packyard-shell-marker"}})
	if err != nil {
		t.Errorf("a file written in one shell is visible in the next: %v", err)
	}
	if _, err := os.Stat(e.Root + "/etc/packyard-shell-marker"); err == nil {
		t.Error("the shell wrote into the environment itself")
	}
}

func TestKeptSession(t *testing.T) {
	cfg, mgr, e := envtest.Env(t)
	s, err := mgr.OpenSession(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runStep(t, s, env.Step{Command: []string{"sh", "-c", "echo kept > /root/marker"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Keep(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	defer mgr.RemoveKeptSession(s.ID)
	if _, err := mgr.GC(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = mgr.Shell(context.Background(), e, env.ShellOptions{Session: s.ID, Stdout: &out, Stderr: &out, Command: []string{"cat", "/root/marker"}})
	if err != nil || out.String() != "kept\n" {
		t.Errorf("Shell(kept session) = %v, %q; want kept", err, out.String())
	}
	if k := keptSession(t, mgr, s.ID); k == nil || k.Open || k.Bytes == 0 || time.Since(k.KeptAt) > time.Hour {
		t.Errorf("KeptSessions lists %+v for the closed kept session", k)
	}

	// Entered again (env shell --session): listed open, and neither
	// removed by hand nor by build.kept-max-age.
	again, err := mgr.OpenKeptSession(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if k := keptSession(t, mgr, s.ID); k == nil || !k.Open {
		t.Errorf("KeptSessions lists %+v for the entered kept session; want open", k)
	}
	if err := mgr.RemoveKeptSession(s.ID); err == nil {
		t.Error("RemoveKeptSession removed an open session")
	}
	cfg.Build.KeptMaxAge = config.Duration(time.Nanosecond)
	defer func() { cfg.Build.KeptMaxAge = 0 }()
	if rep, err := mgr.GC(context.Background()); err != nil || len(rep.Kept) != 0 {
		t.Errorf("GC with an entered kept session = %+v, %v; want it left alone", rep, err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := mgr.GC(context.Background())
	if err != nil || len(rep.Kept) != 1 || rep.Kept[0] != s.ID || rep.KeptBytes == 0 {
		t.Errorf("GC with kept-max-age = %+v, %v; want %s removed", rep, err, s.ID)
	}
	if _, err := os.Stat(s.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("kept session dir remains after GC: %v", err)
	}
}

// keptSession returns the kept session id as KeptSessions lists it.
func keptSession(t *testing.T, mgr *env.Manager, id string) *env.KeptSession {
	t.Helper()
	kept, err := mgr.KeptSessions()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kept {
		if k.ID == id {
			return &k
		}
	}
	return nil
}

func TestRemoveRefusesEnvironmentInUse(t *testing.T) {
	_, mgr, e := envtest.Env(t)
	s, err := mgr.OpenSession(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := mgr.Remove(e.Codename, e.Architecture, e.Variant); !errors.Is(err, env.ErrInUse) {
		t.Fatalf("Remove(env in use) = %v; want ErrInUse", err)
	}
	infos, err := mgr.List()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, in := range infos {
		if in.Name == e.Name() {
			found = true
			if !in.InUse || in.Status != "ok" {
				t.Errorf("List entry %+v; want in use and ok", in)
			}
		}
	}
	if !found {
		t.Errorf("List() = %+v; want %s", infos, e.Name())
	}
}

func TestVerifyIntactEnvironment(t *testing.T) {
	_, mgr, e := envtest.Env(t)
	if err := mgr.Verify(e, false); err != nil {
		t.Errorf("Verify(intact) = %v", err)
	}
}
