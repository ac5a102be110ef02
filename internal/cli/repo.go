package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/record"
	"github.com/packyard/packyard/internal/repo"
	"github.com/packyard/packyard/internal/sign"
	"github.com/spf13/cobra"
)

// repoAction runs against an open repository and returns what to print.
type repoAction func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error)

// printer prints a result for humans; the same value is printed as JSON
// with --json.
type printer interface{}

func newRepo(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repo",
		Short: "Manage packyard's repository: add, remove, list, copy, migrate, snapshots, rollbacks, gc, check",
	}
	var from, to string
	migrate := repoCommand(g, "migrate SOURCE --from DIST [--to DIST]", "Move a source package and its binaries to the next suite, if versions go up and the target stays installable", cobra.ExactArgs(1),
		func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
			return r.Migrate(ctx, args[0], from, to)
		})
	migrate.Flags().StringVar(&from, "from", "", "distribution to migrate from, for example bookworm-packyard-unstable")
	migrate.Flags().StringVar(&to, "to", "", "target distribution (default: the layout's next suite)")
	_ = migrate.MarkFlagRequired("from")

	snapshot := &cobra.Command{Use: "snapshot", Short: "Named, immutable generations: create, list, show, diff, remove"}
	snapshot.AddCommand(
		repoCommand(g, "create DIST NAME", "Record the current generation of DIST as snapshot NAME", cobra.ExactArgs(2),
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				return r.CreateSnapshot(ctx, args[0], args[1])
			}),
		repoCommand(g, "list", "List snapshots", cobra.NoArgs,
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				return r.Snapshots(ctx)
			}),
		repoCommand(g, "show NAME", "Show a snapshot's packages", cobra.ExactArgs(1),
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				s, pkgs, err := r.ShowSnapshot(ctx, args[0])
				if err != nil {
					return nil, err
				}
				line, _ := r.SnapshotSourceLine(args[0])
				return map[string]any{"snapshot": s, "packages": pkgs, "apt_source": line}, nil
			}),
		repoCommand(g, "diff A B", "Compare two snapshots or distributions", cobra.ExactArgs(2),
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				return r.DiffSnapshots(ctx, args[0], args[1])
			}),
		repoCommand(g, "remove NAME", "Remove a snapshot (its files are collected by repo gc)", cobra.ExactArgs(1),
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				return map[string]string{"removed": args[0]}, r.RemoveSnapshot(ctx, args[0])
			}),
	)
	var link bool
	add := repoCommand(g, "add DIST FILE...", "Add .deb, .udeb, .dsc and .changes files and publish a new generation", cobra.MinimumNArgs(2),
		func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
			return r.AddWith(ctx, args[0], repo.AddOptions{LinkInputs: link}, args[1:]...)
		})
	add.Flags().BoolVar(&link, "link", false, "hard-link the files into the pool instead of copying them (only for files nobody will rewrite in place)")
	cmd.AddCommand(
		add,
		repoCommand(g, "remove DIST NAME...", "Remove source or binary packages from DIST and publish", cobra.MinimumNArgs(2),
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				return r.Remove(ctx, args[0], args[1:]...)
			}),
		repoCommand(g, "list [DIST]", "List the packages of DIST, or the configured distributions", cobra.MaximumNArgs(1),
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				if len(args) == 0 {
					return r.Distributions(), nil
				}
				return r.List(ctx, args[0])
			}),
		repoCommand(g, "show NAME", "Show the versions of a source or binary package in every suite", cobra.ExactArgs(1),
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				return r.Show(ctx, args[0])
			}),
		repoCommand(g, "copy FROM TO NAME...", "Copy source packages with their binaries from one distribution to another", cobra.MinimumNArgs(3),
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				return r.Copy(ctx, args[0], args[1], args[2:]...)
			}),
		migrate,
		snapshot,
		repoCommand(g, "rollback DIST [N]", "List DIST's rollbacks, or publish rollback N again with a new Date", cobra.RangeArgs(1, 2),
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				if len(args) == 1 {
					return r.Rollbacks(ctx, args[0])
				}
				n, err := strconv.Atoi(args[1])
				if err != nil {
					return nil, usageError("rollback number %q: want an integer from 'packyard repo rollback %s'", args[1], args[0])
				}
				return r.RollbackTo(ctx, args[0], n)
			}),
		repoCommand(g, "republish DIST", "Publish DIST again with the same content and a new Date (and Valid-Until)", cobra.ExactArgs(1),
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				return r.Republish(ctx, args[0])
			}),
		repoCommand(g, "gc", "Delete generations, pool files and by-hash files nothing refers to any more", cobra.NoArgs,
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				return r.GC(ctx)
			}),
		repoCommand(g, "check", "Recompute every hash, check every Filename exists and every signature verifies", cobra.NoArgs,
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				rep, err := r.Check(ctx)
				if err == nil && rep != nil && len(rep.Problems) > 0 {
					err = withCode(ExitCorrupt, fmt.Errorf("repository check found %d problems", len(rep.Problems)), "see the problems listed above")
				}
				return rep, err
			}),
		repoCommand(g, "source-line DIST", "Print the apt sources line for DIST", cobra.ExactArgs(1),
			func(ctx context.Context, r *repo.Repo, rec *record.Run, args []string) (printer, error) {
				return r.AptSourceLine(args[0]), nil
			}),
	)
	return cmd
}

// repoCommand builds one repo subcommand around action.
func repoCommand(g *globals, use, short string, args cobra.PositionalArgs, action repoAction) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: args}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := g.load()
		if err != nil {
			return err
		}
		return g.command(cmd, cfg, args, func(rec *record.Run) error {
			r, err := openRepo(g, cfg)
			if err != nil {
				return err
			}
			out, err := action(cmd.Context(), r, rec, args)
			if out != nil && !isNilValue(out) {
				if g.json {
					if jerr := writeJSON(g.stdout, out); jerr != nil && err == nil {
						err = jerr
					}
				} else {
					printHuman(g.stdout, out)
				}
			}
			return err
		})
	}
	return cmd
}

func openRepo(g *globals, cfg *config.Config) (*repo.Repo, error) {
	key, err := sign.LoadKey(cfg.SigningKeyPath())
	if err != nil {
		return nil, withCode(ExitUsage, err, "run 'packyard init' to generate the signing key")
	}
	r, err := repo.Open(cfg, key, g.logger)
	if err != nil {
		return nil, err
	}
	r.SetInstallability(nil, pantryBackground(g, cfg))
	return r, nil
}

// pantryBackground gives migrations the upstream Packages indexes of a
// codename from the pantry, so dependencies on Debian's packages are
// checked against what Debian really has.
func pantryBackground(g *globals, cfg *config.Config) repo.BackgroundFunc {
	return func(ctx context.Context, codename, arch string) ([][]byte, error) {
		p, err := archive.OpenPantry(cfg, g.logger)
		if err != nil {
			return nil, err
		}
		var out [][]byte
		for _, a := range cfg.Archives {
			for _, suite := range a.Suites {
				if suite != codename && !strings.HasPrefix(suite, codename+"-") {
					continue
				}
				for _, comp := range a.Components {
					data, err := os.ReadFile(filepath.Join(p.SuiteDir(a.Name, suite), comp, "binary-"+arch, "Packages"))
					if errors.Is(err, os.ErrNotExist) {
						// Without the index, dependencies found nowhere in the
						// repository count as provided upstream.
						g.logger.Warn("installability check without upstream index; run packyard refresh", "archive", a.Name, "suite", suite, "component", comp)
						continue
					}
					if err != nil {
						return nil, fmt.Errorf("reading %s %s %s Packages from the pantry: %w", a.Name, suite, comp, err)
					}
					out = append(out, data)
				}
			}
		}
		return out, nil
	}
}

func isNilValue(v any) bool {
	switch x := v.(type) {
	case *repo.Result:
		return x == nil
	case *repo.Snapshot:
		return x == nil
	case *repo.Diff:
		return x == nil
	case *repo.GCReport:
		return x == nil
	case *repo.CheckReport:
		return x == nil
	}
	return false
}

// printHuman prints the repo results as aligned text.
func printHuman(w io.Writer, v any) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	refs := func(prefix string, rs []repo.PackageRef) {
		for _, p := range rs {
			fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\n", prefix, p.Package, p.Version, p.Architecture, p.Component, p.Distribution)
		}
	}
	switch x := v.(type) {
	case string:
		fmt.Fprintln(tw, x)
	case []string:
		for _, s := range x {
			fmt.Fprintln(tw, s)
		}
	case []repo.PackageRef:
		refs("", x)
	case *repo.Result:
		if x.Unchanged {
			fmt.Fprintf(tw, "already published in %s (generation %d unchanged)\n", x.Distribution, x.Generation)
			refs("= ", x.AlreadyPublished)
			break
		}
		fmt.Fprintf(tw, "published %s generation %d (%s)\n", x.Distribution, x.Generation, x.Date.Format("2006-01-02 15:04:05Z"))
		refs("+ ", x.Added)
		refs("~ ", x.Replaced)
	case *repo.Snapshot:
		fmt.Fprintf(tw, "snapshot %s of %s generation %d\n", x.Name, x.Distribution, x.Generation)
	case []repo.Snapshot:
		for _, s := range x {
			fmt.Fprintf(tw, "%s\t%s\tgeneration %d\t%s\n", s.Name, s.Distribution, s.Generation, s.Created.Format("2006-01-02 15:04Z"))
		}
	case []repo.Rollback:
		for _, rb := range x {
			fmt.Fprintf(tw, "%d\tgeneration %d\t%s\t%s\n", rb.Index, rb.Generation, rb.Date.Format("2006-01-02 15:04:05Z"), rb.Reason)
		}
	case *repo.Diff:
		refs("+ ", x.Added)
		refs("- ", x.Removed)
		for _, c := range x.Changed {
			fmt.Fprintf(tw, "~ %v\n", c)
		}
	case *repo.GCReport:
		fmt.Fprintf(tw, "removed %d generations, %d pool files, %d bytes\n", len(x.Generations), x.PoolFiles, x.Bytes)
	case *repo.CheckReport:
		fmt.Fprintf(tw, "checked %d distributions, %d index files, %d pool files: %d problems\n", x.Distributions, x.Files, x.PoolFiles, len(x.Problems))
		for _, p := range x.Problems {
			fmt.Fprintf(tw, "  %v\n", p)
		}
	default:
		_ = writeJSON(w, v)
	}
}
