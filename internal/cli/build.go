package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/build"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/record"
	"github.com/packyard/packyard/internal/repo"
	"github.com/packyard/packyard/internal/run"
	"github.com/packyard/packyard/internal/sign"
	"github.com/spf13/cobra"
)

type buildOptions struct {
	suite     string
	codename  string
	arch      string
	noArchAll bool
	nocheck   bool
	profiles  []string
	parallel  int
	extra     []string
}

func newBuild(g *globals) *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "build TARGET",
		Short: "Build a source package in a clean environment and publish it to packyard's repository",
		Long: `build takes a source package name (the newest version in the refreshed
Sources indexes), a path to a .dsc, or a path to an unpacked source tree with
debian/. It verifies the source, creates or reuses the build environment for
the codename and architecture, installs the build-dependencies in a
throw-away overlay entered with bwrap, runs dpkg-buildpackage there with the
network off, and publishes the results to <codename>-<id>-<suite>.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.load()
			if err != nil {
				return err
			}
			return g.command(cmd, cfg, args, func(rec *record.Run) error {
				return runBuild(cmd, g, cfg, rec, &o, args[0])
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.suite, "suite", "", "repository suite to publish to (default build.suite from the config)")
	f.StringVar(&o.codename, "codename", "", "codename to build for (default build.codename)")
	f.StringVar(&o.arch, "arch", "", "architecture to build for (default build.architecture)")
	f.BoolVar(&o.noArchAll, "no-arch-all", false, "do not build Architecture: all packages")
	f.BoolVar(&o.nocheck, "nocheck", false, "skip the package's tests (DEB_BUILD_OPTIONS=nocheck)")
	f.StringSliceVar(&o.profiles, "profiles", nil, "build profiles (DEB_BUILD_PROFILES)")
	f.IntVarP(&o.parallel, "jobs-per-build", "J", 0, "parallel=N in DEB_BUILD_OPTIONS (0: the package's default)")
	f.StringSliceVar(&o.extra, "extra-package", nil, "extra packages to install in the build session")
	return cmd
}

// buildTarget is what the user asked to build, resolved.
type buildTarget struct {
	dsc  string // path of a verified .dsc with its files beside it
	tree string // or an unpacked source tree
}

func runBuild(cmd *cobra.Command, g *globals, cfg *config.Config, rec *record.Run, o *buildOptions, arg string) error {
	ctx := cmd.Context()
	codename := firstNonEmpty(o.codename, cfg.Build.Codename)
	arch := firstNonEmpty(o.arch, cfg.Build.Architecture)
	dist := cfg.DistributionName(codename, firstNonEmpty(o.suite, cfg.Build.Suite))
	if err := run.Require("mmdebstrap", "bwrap", "mount", "umount"); err != nil {
		return err
	}
	key, err := sign.LoadKey(cfg.SigningKeyPath())
	if err != nil {
		return withCode(ExitUsage, err, "run 'packyard init' to generate the signing key")
	}
	r, err := repo.Open(cfg, key, g.logger)
	if err != nil {
		return err
	}
	if err := checkDistribution(r, dist); err != nil {
		return err
	}
	target, err := resolveTarget(ctx, g, cfg, rec, arg)
	if err != nil {
		return err
	}
	envs := env.NewManager(cfg, g.logger, run.New(g.logger))
	g.printf("preparing build environment %s/%s\n", codename, arch)
	e, err := envs.Ensure(ctx, codename, arch)
	if err != nil {
		return fmt.Errorf("preparing build environment: %w", err)
	}
	rec.Event("env.ready", map[string]any{"env": e.Name(), "dir": e.Dir})
	outDir := filepath.Join(rec.Dir, "artifacts")
	req := build.Request{
		DSC: target.dsc, SourceTree: target.tree, Env: e, OutDir: outDir,
		LogPath: rec.LogPath("build.log"), Rec: rec, Arch: arch,
		NoArchAll: o.noArchAll, NoCheck: o.nocheck, Profiles: o.profiles, Parallel: o.parallel,
		ExtraPackages: o.extra,
	}
	if published(cfg, dist) {
		req.ExtraRepositories = []string{r.AptSourceLine(dist)}
	}
	builder := build.NewDpkg(envs, g.logger)
	builder.CacheDir = cfg.WorkspaceDir().Cache()
	g.printf("building %s (log: %s)\n", arg, req.LogPath)
	res, err := builder.Build(ctx, req)
	if res != nil {
		if aerr := writeArtifacts(rec, builder.Name(), res, nil); aerr != nil && err == nil {
			err = aerr
		}
	}
	if err != nil {
		g.printf("build failed; full log: %s\n", req.LogPath)
		return err
	}
	files := publishable(res.Files, target.dsc)
	pub, err := r.Add(ctx, dist, files...)
	if err != nil {
		return err
	}
	if err := writeArtifacts(rec, builder.Name(), res, files); err != nil {
		return err
	}
	rec.Event("publish.done", map[string]any{"distribution": dist, "generation": pub.Generation, "added": len(pub.Added)})
	line := r.AptSourceLine(dist)
	if g.json {
		return writeJSON(g.stdout, map[string]any{"source": res.Source, "version": res.Version, "distribution": dist,
			"generation": pub.Generation, "files": files, "run": rec.Dir, "apt_source": line})
	}
	g.printf("built %s %s and published it to %s (generation %d)\n", res.Source, res.Version, dist, pub.Generation)
	g.printf("to install from it, add this line to /etc/apt/sources.list.d/packyard.list:\n%s\n", line)
	return nil
}

// resolveTarget turns the command-line argument into a verified .dsc or a
// source tree, fetching the source package from the archive for a name.
func resolveTarget(ctx context.Context, g *globals, cfg *config.Config, rec *record.Run, arg string) (*buildTarget, error) {
	if strings.HasSuffix(arg, ".dsc") {
		ref, err := archive.VerifyLocalDSC(arg)
		if err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(arg)
		if err != nil {
			return nil, usageError("%v", err)
		}
		rec.Event("source.local", map[string]any{"dsc": abs, "source": ref.Package, "version": ref.Version})
		return &buildTarget{dsc: abs}, nil
	}
	if fi, err := os.Stat(arg); err == nil && fi.IsDir() {
		abs, err := filepath.Abs(arg)
		if err != nil {
			return nil, usageError("%v", err)
		}
		rec.Event("source.tree", map[string]any{"path": abs})
		return &buildTarget{tree: abs}, nil
	}
	if strings.ContainsRune(arg, '/') {
		return nil, usageError("%s: no such .dsc or source tree", arg)
	}
	p, err := archive.OpenPantry(cfg, g.logger)
	if err != nil {
		return nil, err
	}
	p.SetClient(archive.NewClient(cfg.Offline))
	ref, err := p.FindSource(arg)
	if err != nil {
		return nil, err
	}
	g.printf("fetching %s %s from %s %s\n", ref.Package, ref.Version, ref.Archive, ref.Suite)
	dest := filepath.Join(cfg.WorkspaceDir().Sources(), ref.Package, ref.Version)
	dsc, err := p.FetchSource(ctx, ref, dest)
	if err != nil {
		return nil, err
	}
	rec.Event("source.fetched", map[string]any{"source": ref.Package, "version": ref.Version, "archive": ref.Archive, "suite": ref.Suite, "dsc": dsc})
	return &buildTarget{dsc: dsc}, nil
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
func writeArtifacts(rec *record.Run, builder string, res *build.Result, kept []string) error {
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
	return rec.WriteArtifacts(a)
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
