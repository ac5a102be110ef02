package cli

import (
	"fmt"
	"time"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/record"
	"github.com/spf13/cobra"
)

type refreshOptions struct {
	force    bool
	status   bool
	archives []string
	parallel int
}

func newRefresh(g *globals) *cobra.Command {
	var o refreshOptions
	cmd := &cobra.Command{
		Use:   "refresh",
		Short: "Download and verify the upstream archive indexes into the pantry",
		Long: `refresh downloads InRelease for every configured archive suite, verifies it
with the archive's keyring, and downloads the Sources and Packages indexes
(by hash where the Release allows), checked for size and SHA256 against the
signed Release. A suite refreshed within its TTL is skipped unless --force.

With --offline it makes no connection: it reports for each configured index
whether the pantry has it, its age, and whether its hashes still match its
signed InRelease; exit code 3 if anything is missing, 4 if anything is corrupt.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			return g.command(cmd, cfg, args, func(rec *record.Run) error {
				if cfg.Offline || o.status {
					return pantryStatus(g, cfg, rec, cfg.Offline)
				}
				p, err := archive.OpenPantry(cfg, g.logger)
				if err != nil {
					return err
				}
				p.SetClient(archive.NewClient(cfg.Offline))
				results, err := p.Refresh(cmd.Context(), rec, archive.RefreshOptions{
					Force: o.force, Archives: o.archives, Parallel: o.parallel, Progress: g.progress(),
				})
				if g.json {
					if jerr := writeJSON(g.stdout, results); jerr != nil && err == nil {
						err = jerr
					}
				} else {
					for _, r := range results {
						if r.Status == "" {
							continue
						}
						fmt.Fprintf(g.stdout, "%-20s %-24s %-10s %8s %s\n", r.Archive, r.Suite, r.Status, humanBytes(r.Downloaded), r.Duration.Round(time.Millisecond))
					}
				}
				if err != nil {
					// Suites are refreshed one by one: say that the others
					// were, and that a failed one is left as it was.
					code, _ := exitCode(err)
					return withCode(code, err, "the suites listed were refreshed; a suite that failed keeps its previous indexes. "+
						"Run packyard refresh again later (a mirror in mid-sync heals itself), or check the archive's URI and keyring")
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.force, "force", false, "ignore the TTL and validators; re-check every index")
	f.BoolVar(&o.status, "status", false, "show the pantry's state instead of refreshing (as packyard pantry)")
	f.StringSliceVar(&o.archives, "archive", nil, "refresh only these archives (by name)")
	f.IntVar(&o.parallel, "parallel", 4, "concurrent downloads")
	return cmd
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%dB", n)
	}
}

func newPantry(g *globals) *cobra.Command {
	var verify bool
	cmd := &cobra.Command{
		Use:   "pantry",
		Short: "Show the cached upstream indexes: archives, suites, fetched time, age, size, stanzas",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			return g.command(cmd, cfg, args, func(rec *record.Run) error {
				return pantryStatus(g, cfg, rec, verify)
			})
		},
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "re-check every index against its signed InRelease (reads every byte)")
	return cmd
}

// pantryStatus prints the pantry table (or JSON) and returns a
// *archive.StatusError when an index is missing or corrupt.
func pantryStatus(g *globals, cfg *config.Config, rec *record.Run, verify bool) error {
	p, err := archive.OpenPantry(cfg, g.logger)
	if err != nil {
		return err
	}
	rows, err := p.Status(archive.StatusOptions{Verify: verify})
	for _, r := range rows {
		rec.Event("pantry.index", map[string]any{"archive": r.Archive, "suite": r.Suite, "component": r.Component,
			"architecture": r.Architecture, "state": r.State, "problem": r.Problem})
	}
	if g.json {
		if jerr := writeJSON(g.stdout, rows); jerr != nil && err == nil {
			return jerr
		}
	} else if terr := archive.WriteStatusTable(g.stdout, rows); terr != nil && err == nil {
		return terr
	}
	return err
}
