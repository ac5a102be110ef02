package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/record"
	"github.com/spf13/cobra"
)

// globals are the flags every command takes.
type globals struct {
	configPath string
	workspace  string
	json       bool
	verbose    bool
	offline    bool
	stdout     io.Writer
	stderr     io.Writer
	logger     *slog.Logger
}

// Execute runs packyard with args (without the program name) and returns the
// process exit code. It never calls os.Exit.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code, hint := exitCode(err)
	if code == ExitUsage && !isExitError(err) {
		// cobra's own flag and argument errors
		fmt.Fprintf(stderr, "packyard: %v\nRun 'packyard --help' for usage.\n", err)
		return code
	}
	fmt.Fprintf(stderr, "packyard: %v\n", err)
	if hint != "" {
		fmt.Fprintf(stderr, "hint: %s\n", hint)
	}
	return code
}

func isExitError(err error) bool {
	var ee *exitError
	return errors.As(err, &ee)
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "packyard",
		Short:         "Build Debian packages and publish them as signed APT repositories",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			level := slog.LevelInfo
			if g.verbose {
				level = slog.LevelDebug
			}
			g.logger = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError("%v", err) })
	pf := root.PersistentFlags()
	pf.StringVar(&g.configPath, "config", "", "config file (default $PACKYARD_CONFIG or ~/.config/packyard/config.yaml)")
	pf.StringVar(&g.workspace, "workspace", "", "workspace directory (default ~/.local/share/packyard)")
	pf.BoolVar(&g.json, "json", false, "machine-readable JSON output on stdout")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log debug detail to stderr")
	pf.BoolVar(&g.offline, "offline", false, "make no network connection at all")
	root.AddCommand(newInit(g), newRefresh(g), newBuild(g))
	addExtraCommands(root, g)
	markUsageErrors(root)
	return root
}

// markUsageErrors makes argument-count errors of every command exit with
// ExitUsage, and unknown subcommands too.
func markUsageErrors(c *cobra.Command) {
	if c.Args != nil {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError("%s: %v", cmd.CommandPath(), err)
			}
			return nil
		}
	}
	if c.HasSubCommands() && c.RunE == nil && c.Run == nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		}
		if c.Args == nil {
			c.Args = cobra.ArbitraryArgs
		}
	}
	for _, sub := range c.Commands() {
		markUsageErrors(sub)
	}
}

// path returns the config path in effect.
func (g *globals) path() string {
	if g.configPath != "" {
		return g.configPath
	}
	return config.DefaultPath()
}

// load reads the config and applies command-line overrides.
func (g *globals) load() (*config.Config, error) {
	cfg, err := config.Load(g.path())
	if err != nil {
		if errors.Is(err, config.ErrNotFound) {
			return nil, withCode(ExitUsage, err, "run 'packyard init' to create the config and workspace")
		}
		return nil, withCode(ExitUsage, err, "fix the config file or re-create it with 'packyard init --force'")
	}
	if g.workspace != "" {
		abs, err := filepath.Abs(g.workspace)
		if err != nil {
			return nil, usageError("workspace: %v", err)
		}
		cfg.Workspace = abs
	}
	if g.offline {
		cfg.Offline = true
	}
	return cfg, nil
}

// command is the shared frame of every command: it opens the run record,
// runs fn, and records how it ended.
func (g *globals) command(cmd *cobra.Command, cfg *config.Config, args []string, fn func(rec *record.Run) error) error {
	name := cmd.Name()
	if p := cmd.Parent(); p != nil && p.Parent() != nil {
		name = p.Name() + "-" + name
	}
	rec, err := record.Start(cfg.WorkspaceDir().Runs(), name, args)
	if err != nil {
		return withCode(ExitInternal, err, "check that the workspace "+cfg.Workspace+" is writable")
	}
	logFile, err := os.OpenFile(rec.LogPath(name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err == nil {
		defer logFile.Close()
		level := slog.LevelInfo
		if g.verbose {
			level = slog.LevelDebug
		}
		g.logger = slog.New(fanout{
			slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}),
			slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}),
		})
	}
	runErr := fn(rec)
	code, _ := exitCode(runErr)
	if ferr := rec.Finish(code, runErr); ferr != nil && runErr == nil {
		runErr = withCode(ExitInternal, ferr, "")
	}
	return runErr
}

// fanout is a slog.Handler writing each record to several handlers.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			_ = h.Handle(ctx, r.Clone())
		}
	}
	return nil
}

func (f fanout) WithAttrs(a []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(a)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}

// printf writes human output to stdout unless --json is set.
func (g *globals) printf(format string, args ...any) {
	if !g.json {
		fmt.Fprintf(g.stdout, format, args...)
	}
}
