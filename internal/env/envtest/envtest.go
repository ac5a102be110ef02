// Package envtest gives integration tests one shared build environment,
// cached under Root across test runs so only the first run pays for
// mmdebstrap. It reads the machine's own apt sources.
package envtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/run"
)

// Root is the fixed cache directory of integration tests.
const Root = "/var/tmp/packyard-it"

// Codename and Arch of the shared environment.
const (
	Codename = "bookworm"
	Arch     = "amd64"
)

var (
	once   sync.Once
	cfg    *config.Config
	mgr    *env.Manager
	shared *env.Env
	setErr error
)

// Env returns the config, manager and environment shared by the tests of
// one test binary; it skips the test when not root.
func Env(t testing.TB) (*config.Config, *env.Manager, *env.Env) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	once.Do(func() {
		var archives []config.Archive
		archives, setErr = HostArchives("/etc/apt/sources.list.d")
		if setErr != nil {
			return
		}
		cfg = config.Default(filepath.Join(Root, "workspace"), Codename, Arch, archives)
		logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		mgr = env.NewManager(cfg, logger, run.New(logger))
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		shared, setErr = mgr.Ensure(ctx, Codename, Arch)
	})
	if setErr != nil {
		t.Fatalf("preparing the shared environment: %v", setErr)
	}
	return cfg, mgr, shared
}

// Workspace returns the config of a workspace of its own, Root/name, with
// the machine's archives, and a manager of it logging warnings; it skips
// the test when not root.
func Workspace(t testing.TB, name string) (*config.Config, *env.Manager) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	archives, err := HostArchives("/etc/apt/sources.list.d")
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default(filepath.Join(Root, name), Codename, Arch, archives)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return c, env.NewManager(c, logger, run.New(logger))
}

// HostArchives reads the deb822 *.sources files in dir: enough of them for
// tests (URIs, Suites, Components, Signed-By).
func HostArchives(dir string) ([]config.Archive, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.sources"))
	var out []config.Archive
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, para := range strings.Split(string(data), "\n\n") {
			a := config.Archive{Name: fmt.Sprintf("host%d", len(out)), Architectures: []string{"amd64"}}
			deb := false
			for _, line := range strings.Split(para, "\n") {
				k, v, ok := strings.Cut(line, ":")
				if !ok || strings.HasPrefix(line, "#") {
					continue
				}
				v = strings.TrimSpace(v)
				switch k {
				case "Types":
					deb = strings.Contains(" "+v+" ", " deb ")
				case "URIs":
					a.URI = strings.Fields(v)[0]
				case "Suites":
					a.Suites = strings.Fields(v)
				case "Components":
					a.Components = strings.Fields(v)
				case "Signed-By":
					a.SignedBy = v
				}
			}
			if deb && a.URI != "" {
				out = append(out, a)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no deb822 apt sources found in " + dir)
	}
	return out, nil
}
