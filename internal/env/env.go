package env

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/record"
	"github.com/packyard/packyard/internal/run"
)

// ManifestVersion is the format version of manifest.json.
const ManifestVersion = 1

// ErrNoSources is returned when no configured archive carries the codename.
var ErrNoSources = errors.New("no configured archive carries this codename")

// Manager creates, finds and opens build environments under a workspace.
type Manager struct {
	cfg    *config.Config
	logger *slog.Logger
	runner *run.Runner
	// Rec, when set, receives typed events (env.create, env.reuse).
	Rec *record.Run
	// Log, when set, receives mmdebstrap's output.
	Log io.Writer
	// rootless is set when packyard runs as an ordinary user (rootless.go).
	rootless bool
	rl       rootlessState
}

// NewManager returns a Manager for cfg's workspace. runner may be nil.
func NewManager(cfg *config.Config, logger *slog.Logger, runner *run.Runner) *Manager {
	if logger == nil {
		logger = slog.Default()
	}
	if runner == nil {
		runner = run.New(logger)
	}
	return &Manager{cfg: cfg, logger: logger, runner: runner, rootless: os.Geteuid() != 0}
}

// Config returns the configuration the manager works with.
func (m *Manager) Config() *config.Config { return m.cfg }

// Env is one ready build environment.
type Env struct {
	Codename     string
	Architecture string
	Variant      string
	// Dir is the environment directory; Root is its root filesystem.
	Dir      string
	Root     string
	Manifest Manifest
}

// Name returns "<codename>-<arch>-<variant>".
func (e *Env) Name() string { return Name(e.Codename, e.Architecture, e.Variant) }

// Manifest is an environment's manifest.json, written last when it is made.
type Manifest struct {
	Version      int       `json:"version"`
	Codename     string    `json:"codename"`
	Architecture string    `json:"architecture"`
	Variant      string    `json:"variant"`
	Created      time.Time `json:"created"`
	Command      []string  `json:"command"`
	Sources      []string  `json:"sources"`
	// Packages maps installed package name to version (dpkg status).
	Packages map[string]string `json:"packages"`
	// StatusSHA256 is the SHA-256 of var/lib/dpkg/status when made: a changed
	// status means the environment was edited in place or damaged. It is
	// checked on every use.
	StatusSHA256 string `json:"status_sha256"`
	// TreeSHA256 and ContentSHA256 are TreeDigest of the root without and
	// with file contents, checked by Verify.
	TreeSHA256    string `json:"tree_sha256"`
	ContentSHA256 string `json:"content_sha256"`
}

// Name returns the directory name of an environment.
func Name(codename, arch, variant string) string {
	if variant == "" {
		variant = DefaultVariant
	}
	return codename + "-" + arch + "-" + variant
}

// Dir returns the directory of the environment for (codename, arch, variant).
func (m *Manager) Dir(codename, arch, variant string) string {
	return filepath.Join(m.cfg.WorkspaceDir().Envs(), Name(codename, arch, variant))
}

// Ensure returns the environment for codename and arch (variant buildd),
// creating it with mmdebstrap on first use and reusing it afterwards. A
// directory without a valid manifest is replaced. Concurrent callers are
// serialized by a per-environment lock.
func (m *Manager) Ensure(ctx context.Context, codename, arch string) (*Env, error) {
	return m.EnsureVariant(ctx, codename, arch, DefaultVariant)
}

// EnsureVariant is Ensure for a given mmdebstrap variant.
func (m *Manager) EnsureVariant(ctx context.Context, codename, arch, variant string) (*Env, error) {
	if codename == "" || arch == "" {
		return nil, errors.New("ensuring environment: codename and architecture are required")
	}
	unlock, err := m.lock(Name(codename, arch, variant))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if e, err := m.Open(codename, arch, variant); err == nil {
		m.Rec.Event("env.reuse", map[string]any{"env": e.Name(), "created": e.Manifest.Created})
		return e, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		m.logger.Warn("environment unusable, rebuilding", "env", Name(codename, arch, variant), "err", err)
	}
	return m.create(ctx, codename, arch, variant)
}

// Open returns the existing environment, or an error wrapping os.ErrNotExist
// when there is none, or another error when it is damaged.
func (m *Manager) Open(codename, arch, variant string) (*Env, error) {
	dir := m.Dir(codename, arch, variant)
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("reading environment manifest: %w", err)
	}
	var man Manifest
	if err := json.Unmarshal(data, &man); err != nil {
		return nil, fmt.Errorf("decoding environment manifest: %w", err)
	}
	if man.Version != ManifestVersion || man.Codename != codename || man.Architecture != arch {
		return nil, fmt.Errorf("environment manifest of %s does not match", dir)
	}
	e := &Env{Codename: codename, Architecture: arch, Variant: man.Variant, Dir: dir, Root: filepath.Join(dir, "root"), Manifest: man}
	sum, err := fileSHA256(filepath.Join(e.Root, "var/lib/dpkg/status"))
	if err != nil {
		return nil, fmt.Errorf("checking environment %s: %w", e.Name(), err)
	}
	if sum != man.StatusSHA256 {
		return nil, fmt.Errorf("environment %s is damaged: dpkg status changed since it was made", e.Name())
	}
	return e, nil
}

func (m *Manager) create(ctx context.Context, codename, arch, variant string) (*Env, error) {
	sources := SourcesFor(codename, arch, m.cfg.Archives)
	if len(sources) == 0 {
		return nil, fmt.Errorf("creating environment %s: %w", Name(codename, arch, variant), ErrNoSources)
	}
	envs := m.cfg.WorkspaceDir().Envs()
	if err := os.MkdirAll(envs, 0o755); err != nil {
		return nil, fmt.Errorf("creating envs directory: %w", err)
	}
	name := Name(codename, arch, variant)
	if m.rootless {
		if err := m.CheckRootless(OverlayAuto); err != nil {
			return nil, fmt.Errorf("creating environment %s: %w", name, err)
		}
	}
	tmp := filepath.Join(envs, ".new-"+name+"-"+randomID())
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("creating environment: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = m.removeAll(tmp)
		}
	}()
	root := filepath.Join(tmp, "root")
	args := m.mmdebstrapCommand(CreateSpec{Codename: codename, Architecture: arch, Variant: variant, Sources: sources, Target: root})
	m.Rec.Event("env.create", map[string]any{"env": name, "command": args})
	m.logger.Info("creating build environment", "env", name)
	start := time.Now()
	if err := m.runner.Run(ctx, run.Cmd{Args: args, Log: m.Log, Setpgid: true}); err != nil {
		return nil, fmt.Errorf("creating environment %s: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Join(root, "build"), 0o755); err != nil {
		return nil, fmt.Errorf("creating /build in environment: %w", err)
	}
	lines, err := installSources(root, sources)
	if err != nil {
		return nil, err
	}
	man, err := makeManifest(root, codename, arch, variant, args, lines)
	if err != nil {
		return nil, err
	}
	if err := writeManifest(tmp, man); err != nil {
		return nil, err
	}
	final := filepath.Join(envs, name)
	if err := m.replaceDir(tmp, final); err != nil {
		return nil, err
	}
	ok = true
	m.Rec.Event("env.created", map[string]any{"env": name, "seconds": time.Since(start).Seconds(), "packages": len(man.Packages)})
	return &Env{Codename: codename, Architecture: arch, Variant: variant, Dir: final, Root: filepath.Join(final, "root"), Manifest: *man}, nil
}

// mmdebstrapCommand returns the command that creates an environment: as
// root mmdebstrap in root mode; without root mmdebstrap in unshare mode
// run as root of the rootless user namespace, so the environment's files
// belong to the user and its subordinate ids with the map sessions use
// (mmdebstrap's own unshare map would start at the first subordinate id).
func (m *Manager) mmdebstrapCommand(spec CreateSpec) []string {
	if !m.rootless {
		return MmdebstrapArgs(spec)
	}
	spec.Mode = "unshare"
	return UserNSArgs(MmdebstrapArgs(spec)...)
}

// installSources copies each archive keyring into the environment and
// rewrites its sources.list to name those copies, so the environment never
// depends on host paths.
func installSources(root string, sources []Source) ([]string, error) {
	var lines []string
	for _, s := range sources {
		inEnv := ""
		if s.Keyring != "" {
			inEnv = EnvKeyringPath(s.Archive)
			data, err := os.ReadFile(s.Keyring)
			if err != nil {
				return nil, fmt.Errorf("reading keyring of archive %s: %w", s.Archive, err)
			}
			dst := filepath.Join(root, inEnv)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return nil, fmt.Errorf("installing keyring: %w", err)
			}
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				return nil, fmt.Errorf("installing keyring: %w", err)
			}
		}
		lines = append(lines, s.Line(inEnv))
	}
	content := "# written by packyard\n" + strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(root, "etc/apt/sources.list"), []byte(content), 0o644); err != nil {
		return nil, fmt.Errorf("writing environment sources.list: %w", err)
	}
	return lines, nil
}

func makeManifest(root, codename, arch, variant string, cmd, sources []string) (*Manifest, error) {
	statusPath := filepath.Join(root, "var/lib/dpkg/status")
	status, err := os.ReadFile(statusPath)
	if err != nil {
		return nil, fmt.Errorf("reading environment dpkg status: %w", err)
	}
	sum, err := fileSHA256(statusPath)
	if err != nil {
		return nil, err
	}
	tree, err := TreeDigest(root, false)
	if err != nil {
		return nil, err
	}
	content, err := TreeDigest(root, true)
	if err != nil {
		return nil, err
	}
	return &Manifest{
		Version: ManifestVersion, Codename: codename, Architecture: arch, Variant: variant,
		Created: time.Now().UTC(), Command: cmd, Sources: sources,
		Packages: InstalledPackages(status), StatusSHA256: sum, TreeSHA256: tree, ContentSHA256: content,
	}, nil
}

func writeManifest(dir string, man *Manifest) error {
	data, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding manifest: %w", err)
	}
	if err := renameio.WriteFile(filepath.Join(dir, "manifest.json"), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing manifest: %w", err)
	}
	return nil
}

// replaceDir moves tmp to final, moving an old final aside first and
// removing it afterwards unless a session still uses it (GC removes it
// later).
func (m *Manager) replaceDir(tmp, final string) error {
	old := ""
	if _, err := os.Lstat(final); err == nil {
		old = filepath.Join(filepath.Dir(final), ".old-"+filepath.Base(final)+"-"+randomID())
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("moving old environment aside: %w", err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("moving environment into place: %w", err)
	}
	if old != "" {
		if f, ok := tryLockFile(filepath.Join(old, "use.lock")); ok {
			_ = m.removeAll(old)
			f.Close()
		}
	}
	return nil
}

// InstalledPackages returns name -> version of installed packages in a dpkg
// status file (deb822 paragraphs, dpkg(1)); multi-arch duplicates keep the
// last version seen.
func InstalledPackages(status []byte) map[string]string {
	out := map[string]string{}
	var name, version, state string
	flush := func() {
		if name != "" && strings.HasSuffix(state, " installed") {
			out[name] = version
		}
		name, version, state = "", "", ""
	}
	for _, line := range strings.Split(string(status), "\n") {
		switch {
		case line == "":
			flush()
		case strings.HasPrefix(line, "Package: "):
			name = strings.TrimSpace(line[len("Package: "):])
		case strings.HasPrefix(line, "Version: "):
			version = strings.TrimSpace(line[len("Version: "):])
		case strings.HasPrefix(line, "Status: "):
			state = strings.TrimSpace(line[len("Status: "):])
		}
	}
	flush()
	return out
}

// lock takes an exclusive flock on envs/.<name>.lock.
func (m *Manager) lock(name string) (func(), error) {
	dir := m.cfg.WorkspaceDir().Envs()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating envs directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "."+name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening environment lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking environment: %w", err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// tryLock takes the environment lock without waiting; ok is false when
// another process holds it.
func (m *Manager) tryLock(name string) (unlock func(), ok bool) {
	f, err := os.OpenFile(filepath.Join(m.cfg.WorkspaceDir().Envs(), "."+name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, true
}

// recentlyModified reports whether path changed in the last minute.
func recentlyModified(path string) bool {
	st, err := os.Stat(path)
	return err == nil && time.Since(st.ModTime()) < time.Minute
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
