package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/build"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/record"
	"github.com/packyard/packyard/internal/repo"
)

// fetch downloads and verifies a named source from the archive: the exact
// planned version when known, else the newest.
func (s *buildSession) fetch(ctx context.Context, t *buildTarget) error {
	p, err := archive.OpenPantry(s.cfg, s.g.logger)
	if err != nil {
		return err
	}
	p.SetClient(archive.NewClient(s.cfg.Offline))
	if t.origin == "local" {
		if found, err := s.fetchLocal(t); found || err != nil {
			return err
		}
	}
	ref, err := p.FindSource(t.name)
	if errors.Is(err, archive.ErrSourceNotFound) {
		// Not in any archive: packyard's own repository may have it.
		if found, lerr := s.fetchLocal(t); found || lerr != nil {
			return lerr
		}
	}
	if err != nil {
		return err
	}
	if t.version != "" && ref.Version != t.version {
		all, err := p.FindSourceAll(t.name)
		if err != nil {
			return err
		}
		for _, r := range all {
			if r.Version == t.version {
				ref = r
				break
			}
		}
	}
	s.g.printf("fetching %s %s from %s %s\n", ref.Package, ref.Version, ref.Archive, ref.Suite)
	dest := filepath.Join(s.cfg.WorkspaceDir().Sources(), ref.Package, ref.Version)
	dsc, err := p.FetchSource(ctx, ref, dest)
	if err != nil {
		return err
	}
	s.rec.Event("source.fetched", map[string]any{"source": ref.Package, "version": ref.Version, "archive": ref.Archive, "suite": ref.Suite, "dsc": dsc})
	t.dsc = dsc
	return nil
}

func checkDistribution(r *repo.Repo, dist string) error {
	for _, d := range r.Distributions() {
		if d == dist {
			return nil
		}
	}
	return withCode(ExitUsage, fmt.Errorf("distribution %s is not in the config (configured: %s)", dist, strings.Join(r.Distributions(), ", ")),
		"pick a suite from the config's repository layout with --suite")
}

// published reports whether dist already has a signed generation to build against.
func published(cfg *config.Config, dist string) bool {
	_, err := os.Stat(filepath.Join(cfg.WorkspaceDir().Repo(), "dists", dist, "InRelease"))
	return err == nil
}

// publishable lists the files to add to the repository: the .changes (which
// names the binaries and .buildinfo) and the source package's .dsc.
func publishable(files []string, dsc string) []string {
	var out []string
	haveDSC := false
	for _, f := range files {
		switch {
		case strings.HasSuffix(f, ".changes"):
			out = append(out, f)
		case strings.HasSuffix(f, ".dsc"):
			out = append(out, f)
			haveDSC = true
		}
	}
	if !haveDSC && dsc != "" {
		out = append(out, dsc)
	}
	return out
}

// writeArtifacts writes artifacts.json with size and SHA256 of every file.
func writeArtifacts(rec *record.Run, name, builder string, res *build.Result, kept []string) error {
	keep := map[string]bool{}
	for _, k := range kept {
		keep[k] = true
	}
	a := record.Artifacts{Builder: builder, Command: res.Command, ExitCode: res.ExitCode, CollectedIn: res.CollectedFrom}
	for _, f := range res.Files {
		size, sum, err := hashFile(f)
		if err != nil {
			return err
		}
		a.Files = append(a.Files, record.Artifact{Name: filepath.Base(f), Path: f, Size: size, SHA256: sum,
			Kept: keep[f] || (len(kept) > 0 && !strings.HasSuffix(f, ".changes") && !strings.HasSuffix(f, ".dsc"))})
	}
	return rec.WriteJSON(name, a)
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", fmt.Errorf("hashing artifact: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("hashing artifact: %w", err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
