package env

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrInUse is returned when an environment cannot be removed because a
// session uses it.
var ErrInUse = errors.New("environment is in use by a build session")

// ErrNotFound is returned for an environment that does not exist.
var ErrNotFound = errors.New("environment not found")

// Info describes one environment for `packyard env list`.
type Info struct {
	Name         string    `json:"name"`
	Codename     string    `json:"codename"`
	Architecture string    `json:"architecture"`
	Variant      string    `json:"variant"`
	Dir          string    `json:"dir"`
	Created      time.Time `json:"created"`
	Packages     int       `json:"packages"`
	Layers       int       `json:"layers"`
	LayerBytes   int64     `json:"layer_bytes"`
	InUse        bool      `json:"in_use"`
	// Status is "ok", or why the environment is unusable.
	Status string `json:"status"`
}

// List describes every environment of the workspace, sorted by name.
func (m *Manager) List() ([]Info, error) {
	entries, err := os.ReadDir(m.cfg.WorkspaceDir().Envs())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing environments: %w", err)
	}
	var out []Info
	for _, d := range entries {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		out = append(out, m.info(filepath.Join(m.cfg.WorkspaceDir().Envs(), d.Name())))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *Manager) info(dir string) Info {
	in := Info{Name: filepath.Base(dir), Dir: dir, Status: "ok"}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	var man Manifest
	if err == nil {
		err = json.Unmarshal(data, &man)
	}
	if err != nil {
		in.Status = "no valid manifest (half-made): will be rebuilt"
		return in
	}
	in.Codename, in.Architecture, in.Variant = man.Codename, man.Architecture, man.Variant
	in.Created, in.Packages = man.Created, len(man.Packages)
	e, err := m.Open(man.Codename, man.Architecture, man.Variant)
	if err != nil {
		in.Status = err.Error()
	} else {
		layers, _ := e.Layers()
		in.Layers = len(layers)
		for _, l := range layers {
			in.LayerBytes += l.Manifest.Size
		}
	}
	if f, ok := tryLockFile(filepath.Join(dir, "use.lock")); ok {
		f.Close()
	} else {
		in.InUse = true
	}
	return in
}

// Create makes the environment if it does not exist (like Ensure) and
// returns it.
func (m *Manager) Create(ctx context.Context, codename, arch, variant string) (*Env, error) {
	return m.EnsureVariant(ctx, codename, arch, variant)
}

// Refresh builds the environment anew and swaps it in atomically. The old
// one (and its layers) is removed at once when no session uses it, else
// by a later GC.
func (m *Manager) Refresh(ctx context.Context, codename, arch, variant string) (*Env, error) {
	unlock, err := m.lock(Name(codename, arch, variant))
	if err != nil {
		return nil, err
	}
	defer unlock()
	return m.create(ctx, codename, arch, variant)
}

// Remove deletes the environment and its layers. It returns an error
// wrapping ErrInUse while a session uses it, and ErrNotFound when absent.
func (m *Manager) Remove(codename, arch, variant string) error {
	name := Name(codename, arch, variant)
	unlock, err := m.lock(name)
	if err != nil {
		return err
	}
	defer unlock()
	dir := m.Dir(codename, arch, variant)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("removing %s: %w", name, ErrNotFound)
	}
	f, ok := tryLockFile(filepath.Join(dir, "use.lock"))
	if !ok {
		return fmt.Errorf("removing %s: %w", name, ErrInUse)
	}
	defer f.Close()
	trash := filepath.Join(filepath.Dir(dir), ".old-"+name+"-"+randomID())
	if err := os.Rename(dir, trash); err != nil {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	if err := m.removeAll(trash); err != nil {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	return nil
}

// Verify checks the environment against its manifest's checksums: the
// dpkg status (always) and the tree digest (metadata of every file; with
// content, their contents too). It returns nil for an intact environment.
func (m *Manager) Verify(e *Env, content bool) error {
	if _, err := m.Open(e.Codename, e.Architecture, e.Variant); err != nil {
		return err
	}
	if e.Manifest.TreeSHA256 != "" {
		got, err := TreeDigest(e.Root, false)
		if err != nil {
			return err
		}
		if got != e.Manifest.TreeSHA256 {
			return fmt.Errorf("environment %s is damaged: its file tree changed since it was made", e.Name())
		}
	}
	if content && e.Manifest.ContentSHA256 != "" {
		got, err := TreeDigest(e.Root, true)
		if err != nil {
			return err
		}
		if got != e.Manifest.ContentSHA256 {
			return fmt.Errorf("environment %s is damaged: file contents changed since it was made", e.Name())
		}
	}
	return nil
}

// TreeDigest returns a SHA-256 over every entry below root in walk order:
// relative path, mode, size and symlink target, and with content the
// SHA-256 of each regular file. Without root a few directories and files
// of an environment belong to other subordinate ids and cannot be read
// (apt's partial/ directories): they count as "unreadable", their metadata
// still counts.
func TreeDigest(root string, content bool) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		if err != nil {
			if d != nil && errors.Is(err, fs.ErrPermission) {
				fmt.Fprintf(h, "%s\x00unreadable\n", rel)
				return nil
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		size := info.Size()
		if info.IsDir() {
			size = 0 // directory sizes depend on the filesystem's history
		}
		fmt.Fprintf(h, "%s\x00%o\x00%d", rel, info.Mode(), size)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "\x00%s", target)
		case content && d.Type().IsRegular():
			sum, err := fileSHA256(p)
			if errors.Is(err, fs.ErrPermission) {
				sum = "unreadable"
			} else if err != nil {
				return err
			}
			fmt.Fprintf(h, "\x00%s", sum)
		}
		h.Write([]byte{'\n'})
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("digesting %s: %w", root, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ShellOptions configures an interactive session.
type ShellOptions struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Network keeps the host network (as the build-dependency step has).
	Network bool
	// AsBuildUser enters as the build user instead of root.
	AsBuildUser bool
	// Command defaults to an interactive bash.
	Command []string
	// Session, when set, re-enters a session kept by a failed build
	// (Session.Keep) instead of a fresh one.
	Session string
}

// Shell opens a throw-away session over e (or re-enters a kept session)
// and runs an interactive shell in it; everything it changed is dropped
// at the end, except in a kept session.
func (m *Manager) Shell(ctx context.Context, e *Env, opts ShellOptions) error {
	var s *Session
	var err error
	if opts.Session != "" {
		s, err = m.OpenKeptSession(ctx, opts.Session)
	} else {
		s, err = m.OpenSession(ctx, e)
	}
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.HandOverBuildDir(); err != nil {
		return err
	}
	cmd := opts.Command
	if len(cmd) == 0 {
		cmd = []string{"bash", "-l"}
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "TERM=" + termOr("xterm")}
	if opts.AsBuildUser {
		env = append(env, "HOME=/build")
	} else {
		env = append(env, "HOME=/root")
	}
	return s.Run(ctx, Step{Name: "shell", Command: cmd, Network: opts.Network, AsBuildUser: opts.AsBuildUser,
		Dir: "/build", Env: env, Interactive: true, Stdin: opts.Stdin, Stdout: opts.Stdout, Log: opts.Stderr})
}

func termOr(def string) string {
	if t := os.Getenv("TERM"); t != "" {
		return t
	}
	return def
}
