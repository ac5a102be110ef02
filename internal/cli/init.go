package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/record"
	"github.com/packyard/packyard/internal/sign"
	"github.com/spf13/cobra"
)

type initOptions struct {
	force    bool
	aptRoot  string
	codename string
	arch     string
	prime    bool
}

func newInit(g *globals) *cobra.Command {
	var o initOptions
	cmd := &cobra.Command{
		Use:   "init [--prime [TARGET...]]",
		Short: "Write the config and workspace, generate the signing key, read the upstream archives from apt's sources",
		Long: `init writes the config file and the workspace, generates the repository
signing key (OpenPGP v4 Ed25519, SHA-512), and sets the upstream archives
from the machine's apt sources (sources.list, sources.list.d/*.list and
deb822 *.sources). Re-running it changes nothing; --force rewrites the config
and replaces the key (the old key is kept under keys/old-<time>/).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && !o.prime {
				return fmt.Errorf("init takes arguments only with --prime (the targets to prime), got %q", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runInit(cmd, g, &o, args) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.force, "force", false, "rewrite an existing config and replace an existing signing key")
	f.StringVar(&o.aptRoot, "apt-root", "/", "root directory whose etc/apt sources are read")
	f.StringVar(&o.codename, "codename", "", "codename to build for (default: the host's, from /etc/os-release)")
	f.StringVar(&o.arch, "arch", "", "architecture to build for (default: the host's)")
	f.BoolVar(&o.prime, "prime", false, "then fetch what offline builds need (as packyard prime): the indexes, the build environment and, for TARGETs given as arguments, their sources and build-dependencies")
	return cmd
}

func runInit(cmd *cobra.Command, g *globals, o *initOptions, targets []string) error {
	path := g.path()
	cfg, existed, err := initConfig(g, o, path)
	if err != nil {
		return err
	}
	return g.command(cmd, cfg, nil, func(rec *record.Run) error {
		ws := cfg.WorkspaceDir()
		for _, d := range []string{ws.Pantry(), ws.Repo(), ws.Runs(), ws.Envs(), ws.Keys(), ws.Sources(), ws.Cache(), ws.Tmp()} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return withCode(ExitUsage, fmt.Errorf("creating workspace: %w", err), "check the permissions of "+cfg.Workspace)
			}
		}
		rec.Event("init.config", map[string]any{"path": path, "existed": existed, "archives": len(cfg.Archives)})
		fpr, created, err := ensureKey(cfg, o.force)
		if err != nil {
			return withCode(ExitUsage, err, "")
		}
		rec.Event("init.key", map[string]any{"fingerprint": fpr, "created": created})
		if existed && !o.force {
			g.printf("config %s exists; left unchanged (use --force to rewrite)\n", path)
		} else {
			g.printf("wrote config %s\n", path)
		}
		g.printf("workspace %s\n", cfg.Workspace)
		if created {
			g.printf("generated signing key %s\n", fpr)
		} else {
			g.printf("signing key %s exists; kept\n", fpr)
		}
		for _, a := range cfg.Archives {
			g.printf("archive %s: %s %s [%s] keyring %s\n", a.Name, a.URI, strings.Join(a.Suites, " "), strings.Join(a.Components, " "), a.SignedBy)
		}
		var primed any
		if o.prime {
			rep, err := primeAfterInit(cmd.Context(), g, cfg, rec, targets)
			if err != nil {
				return err
			}
			primed = rep
		}
		if g.json {
			return writeJSON(g.stdout, map[string]any{"config": path, "workspace": cfg.Workspace, "fingerprint": fpr, "archives": cfg.Archives, "prime": primed})
		}
		return nil
	})
}

// initConfig loads the existing config or builds and saves a new one.
func initConfig(g *globals, o *initOptions, path string) (*config.Config, bool, error) {
	if !o.force {
		if _, err := os.Stat(path); err == nil {
			cfg, err := g.load()
			return cfg, true, err
		}
	}
	archives, err := archive.ParseAptSources(o.aptRoot)
	if err != nil {
		return nil, false, withCode(ExitUsage, fmt.Errorf("reading apt sources: %w", err), "fix the apt sources or edit the config's archives by hand")
	}
	if len(archives) == 0 {
		return nil, false, withCode(ExitUsage, errors.New("no deb archives in apt sources under "+o.aptRoot), "add a deb line to /etc/apt/sources.list or use --apt-root")
	}
	codename := o.codename
	if codename == "" {
		codename = hostCodename(o.aptRoot, archives)
	}
	arch := o.arch
	if arch == "" {
		arch = hostArch()
	}
	ws := config.DefaultWorkspace()
	if g.workspace != "" {
		if ws, err = filepath.Abs(g.workspace); err != nil {
			return nil, false, usageError("workspace: %v", err)
		}
	}
	cfg := config.Default(ws, codename, arch, archives)
	if err := cfg.Validate(); err != nil {
		return nil, false, withCode(ExitUsage, err, "")
	}
	if err := cfg.Save(path); err != nil {
		return nil, false, withCode(ExitUsage, err, "check that the config directory is writable, or pass --config")
	}
	return cfg, false, nil
}

// ensureKey creates the signing key unless it exists. With force, an
// existing key is moved to keys/old-<time>/ first, never deleted.
func ensureKey(cfg *config.Config, force bool) (fingerprint string, created bool, err error) {
	keyPath := cfg.SigningKeyPath()
	if _, err := os.Stat(keyPath); err == nil {
		if !force {
			k, err := sign.LoadKey(keyPath)
			if err != nil {
				return "", false, err
			}
			return k.Fingerprint(), false, writePublic(cfg, k)
		}
		old := filepath.Join(cfg.WorkspaceDir().Keys(), "old-"+time.Now().UTC().Format("20060102T150405Z"))
		if err := os.MkdirAll(old, 0o700); err != nil {
			return "", false, fmt.Errorf("keeping old key: %w", err)
		}
		if err := os.Rename(keyPath, filepath.Join(old, filepath.Base(keyPath))); err != nil {
			return "", false, fmt.Errorf("keeping old key: %w", err)
		}
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	k, err := sign.Generate(cfg.Repository.Label+" repository signing key", "packyard@"+host)
	if err != nil {
		return "", false, err
	}
	if err := k.SaveSecret(keyPath); err != nil {
		return "", false, err
	}
	return k.Fingerprint(), true, writePublic(cfg, k)
}

// writePublic writes the armored and binary public keys beside the secret.
func writePublic(cfg *config.Config, k *sign.Key) error {
	ws := cfg.WorkspaceDir()
	arm, err := k.PublicArmored()
	if err != nil {
		return err
	}
	bin, err := k.PublicBinary()
	if err != nil {
		return err
	}
	if err := renameio.WriteFile(ws.PublicKey(), arm, 0o644); err != nil {
		return fmt.Errorf("writing public key: %w", err)
	}
	if err := renameio.WriteFile(ws.PublicKeyring(), bin, 0o644); err != nil {
		return fmt.Errorf("writing public keyring: %w", err)
	}
	return nil
}

// hostCodename reads VERSION_CODENAME from os-release under root, falling
// back to the first suite of the first archive without a dash.
func hostCodename(root string, archives []config.Archive) string {
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		f, err := os.Open(filepath.Join(root, p))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VERSION_CODENAME="); ok && v != "" {
				f.Close()
				return strings.Trim(v, `"'`)
			}
		}
		f.Close()
	}
	for _, a := range archives {
		for _, s := range a.Suites {
			if !strings.Contains(s, "-") && !strings.Contains(s, "/") {
				return s
			}
		}
	}
	return "bookworm"
}
