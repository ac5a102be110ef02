package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/packyard/packyard/internal/build"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/record"
	"github.com/packyard/packyard/internal/run"
)

// envSpec is the (codename, architecture, variant) an env command acts on.
type envSpec struct {
	codename, arch, variant string
}

func (s *envSpec) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.codename, "codename", "", "codename (default build.codename)")
	cmd.Flags().StringVar(&s.arch, "arch", "", "architecture (default build.architecture)")
	cmd.Flags().StringVar(&s.variant, "variant", "buildd", "mmdebstrap variant")
}

func (s *envSpec) resolve(cfg *config.Config) (string, string, string) {
	return firstNonEmpty(s.codename, cfg.Build.Codename), firstNonEmpty(s.arch, cfg.Build.Architecture), s.variant
}

func newEnv(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "env", Short: "Build environments: list, create, refresh, remove, shell, gc, kept"}
	var spec envSpec
	list := envCommand(g, "list", "List build environments with their layers and state", func(ctx context.Context, m *env.Manager, cfg *config.Config, rec *record.Run) (any, error) {
		infos, err := m.List()
		if err != nil || g.json {
			return infos, err
		}
		tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tPACKAGES\tLAYERS\tLAYER SIZE\tIN USE\tSTATUS")
		for _, i := range infos {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%v\t%s\n", i.Name, i.Created.Format("2006-01-02 15:04Z"), i.Packages, i.Layers, humanBytes(i.LayerBytes), i.InUse, i.Status)
		}
		return nil, tw.Flush()
	})
	create := envCommand(g, "create", "Create the environment with mmdebstrap unless it exists and is intact", func(ctx context.Context, m *env.Manager, cfg *config.Config, rec *record.Run) (any, error) {
		c, a, v := spec.resolve(cfg)
		e, err := m.Create(ctx, c, a, v)
		if err == nil {
			g.printf("environment %s ready at %s\n", e.Name(), e.Dir)
		}
		return e, err
	})
	refresh := envCommand(g, "refresh", "Build the environment anew and swap it in atomically", func(ctx context.Context, m *env.Manager, cfg *config.Config, rec *record.Run) (any, error) {
		c, a, v := spec.resolve(cfg)
		e, err := m.Refresh(ctx, c, a, v)
		if err == nil {
			g.printf("environment %s refreshed at %s\n", e.Name(), e.Dir)
		}
		return e, err
	})
	remove := envCommand(g, "remove", "Remove the environment and its build-dependency layers", func(ctx context.Context, m *env.Manager, cfg *config.Config, rec *record.Run) (any, error) {
		c, a, v := spec.resolve(cfg)
		if err := m.Remove(c, a, v); err != nil {
			return nil, err
		}
		g.printf("removed %s\n", env.Name(c, a, v))
		return map[string]string{"removed": env.Name(c, a, v)}, nil
	})
	var keptMaxAge time.Duration
	gc := envCommand(g, "gc", "Clean up after killed sessions and builds; collect old build-dependency layers, sbuild tarballs and (with build.kept-max-age) old kept builds", func(ctx context.Context, m *env.Manager, cfg *config.Config, rec *record.Run) (any, error) {
		if keptMaxAge != 0 {
			cfg.Build.KeptMaxAge = config.Duration(keptMaxAge)
		}
		rep, err := m.GC(ctx)
		sb, serr := build.NewSbuild(m, g.logger).GC(ctx)
		err = errors.Join(err, serr)
		if err == nil && !g.json {
			g.printf("sessions %d, processes killed %d, mounts released %d, partial environments %d, layers collected %d, kept sessions %d, sbuild tarballs %d, sbuild build directories %d, kept sbuild builds %d, %d bytes freed\n",
				len(rep.Sessions), len(rep.Killed), len(rep.Unmounted), len(rep.Partial), len(rep.Layers), len(rep.Kept),
				len(sb.Tarballs), len(sb.BuildDirs), len(sb.KeptDirs), sb.Bytes+rep.KeptBytes)
		}
		return envGCResult{GCReport: rep, Sbuild: sb}, err
	})
	gc.Flags().DurationVar(&keptMaxAge, "kept-max-age", 0, "also remove builds kept (build --keep) longer than this, e.g. 168h (default build.kept-max-age; unset keeps them)")
	var toRemove []string
	kept := envCommand(g, "kept", "List what failed builds kept (build --keep), or remove it with --remove", func(ctx context.Context, m *env.Manager, cfg *config.Config, rec *record.Run) (any, error) {
		return listOrRemoveKept(g, m, toRemove)
	})
	kept.Flags().StringSliceVar(&toRemove, "remove", nil, "remove these kept sessions or sbuild builds (ids or names, comma-separated)")
	var sh env.ShellOptions
	shell := envCommand(g, "shell [-- COMMAND...]", "Open an interactive throw-away session in the environment", func(ctx context.Context, m *env.Manager, cfg *config.Config, rec *record.Run) (any, error) {
		c, a, v := spec.resolve(cfg)
		e, err := m.Open(c, a, v)
		if err != nil {
			return nil, withCode(ExitUsage, err, "create it with 'packyard env create'")
		}
		sh.Stdin, sh.Stdout, sh.Stderr = os.Stdin, g.stdout, g.stderr
		return nil, m.Shell(ctx, e, sh)
	})
	shell.Args = cobra.ArbitraryArgs
	shell.PreRun = func(cmd *cobra.Command, args []string) { sh.Command = args }
	shell.Flags().BoolVar(&sh.Network, "network", false, "keep the host network")
	shell.Flags().BoolVar(&sh.AsBuildUser, "user", false, "enter as the build user instead of root")
	shell.Flags().StringVar(&sh.Session, "session", "", "re-enter the session a failed build kept (build --keep)")
	for _, c := range []*cobra.Command{create, refresh, remove, shell} {
		spec.flags(c)
	}
	cmd.AddCommand(list, create, refresh, remove, shell, gc, kept)
	return cmd
}

// envKeptResult is `env kept --json`: the kept sessions of the dpkg
// builder and the kept build directories of the sbuild builder.
type envKeptResult struct {
	Sessions []env.KeptSession `json:"sessions"`
	Sbuild   []build.KeptBuild `json:"sbuild"`
	Removed  []string          `json:"removed,omitempty"`
}

// listOrRemoveKept lists the kept builds, or removes those named.
func listOrRemoveKept(g *globals, m *env.Manager, remove []string) (any, error) {
	sb := build.NewSbuild(m, g.logger)
	if len(remove) > 0 {
		res := envKeptResult{Sessions: []env.KeptSession{}, Sbuild: []build.KeptBuild{}}
		for _, id := range remove {
			err := m.RemoveKeptSession(id)
			if err != nil && errors.Is(err, env.ErrNoSession) {
				err = sb.RemoveKeptBuild(id)
				if errors.Is(err, build.ErrNotKept) {
					err = fmt.Errorf("%s is neither a kept session nor a kept sbuild build (see 'packyard env kept')", id)
				}
			}
			if err != nil {
				return nil, withCode(ExitUsage, err, "")
			}
			g.printf("removed %s\n", id)
			res.Removed = append(res.Removed, id)
		}
		return res, nil
	}
	sessions, err := m.KeptSessions()
	if err != nil {
		return nil, err
	}
	builds, err := sb.KeptBuilds()
	if err != nil {
		return nil, err
	}
	if g.json {
		return envKeptResult{Sessions: sessions, Sbuild: builds}, nil
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tID\tKEPT\tSIZE\tWHERE")
	for _, k := range sessions {
		where := k.Env
		if k.Open {
			where += " (open)"
		}
		fmt.Fprintf(tw, "session\t%s\t%s\t%s\t%s\n", k.ID, k.KeptAt.Format("2006-01-02 15:04Z"), humanBytes(k.Bytes), where)
	}
	for _, b := range builds {
		fmt.Fprintf(tw, "sbuild\t%s\t%s\t%s\t%s\n", b.Name, b.KeptAt.Format("2006-01-02 15:04Z"), humanBytes(b.Bytes), b.Dir)
	}
	if err := tw.Flush(); err != nil {
		return nil, err
	}
	if len(sessions)+len(builds) > 0 {
		g.printf("enter a session with 'packyard env shell --session ID'; remove with 'packyard env kept --remove ID'\n")
	}
	return nil, nil
}

// envGCResult is `env gc --json`: env.GCReport's fields and, under
// "sbuild", what the sbuild builder's collection freed.
type envGCResult struct {
	*env.GCReport
	Sbuild *build.GCReport `json:"sbuild"`
}

// envCommand builds one env subcommand around action; a non-nil result is
// printed as JSON with --json.
func envCommand(g *globals, use, short string, action func(context.Context, *env.Manager, *config.Config, *record.Run) (any, error)) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := g.load()
		if err != nil {
			return err
		}
		return g.command(cmd, cfg, args, func(rec *record.Run) error {
			if err := run.Require("mmdebstrap", "bwrap"); err != nil {
				return err
			}
			m := env.NewManager(cfg, g.logger, run.New(g.logger))
			out, err := action(cmd.Context(), m, cfg, rec)
			if g.json && out != nil && err == nil {
				return writeJSON(g.stdout, out)
			}
			return err
		})
	}
	return cmd
}
