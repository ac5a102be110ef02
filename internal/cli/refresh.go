package cli

import (
	"fmt"
	"time"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/record"
	"github.com/spf13/cobra"
)

type refreshOptions struct {
	force    bool
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
signed Release. A suite refreshed within its TTL is skipped unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			return g.command(cmd, cfg, args, func(rec *record.Run) error {
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
				return err
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.force, "force", false, "ignore the TTL and validators; re-check every index")
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
