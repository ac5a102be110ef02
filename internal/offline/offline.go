package offline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/build"
	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/record"
	"github.com/packyard/packyard/internal/run"
)

// Spec says what to prime or check: the environment, the sources in plan
// order, and the build options that select their build-dependencies (the
// same ones the build will pass, or the resolved sets differ).
type Spec struct {
	Codename string
	Arch     string
	// Stages are the sources in build order: Stages[i] is built once
	// Stages[:i] are published.
	Stages [][]Item
	// Command fetches what is missing while online, for error messages
	// ("packyard prime hello cjson").
	Command string

	NoArchAll     bool
	NoCheck       bool
	Profiles      []string
	ExtraPackages []string
	// ExtraRepositories are apt source lines the builds add (packyard's own
	// repository once it is published).
	ExtraRepositories []string
	// Distribution is packyard's own distribution the builds publish to
	// and install from: its packages need no cached .deb (apt reads them
	// from the local repository, offline too).
	Distribution string
}

// Item is one source package to build: a name (and exact version, "" for
// the newest) fetched from the pantry's archives, or a local .dsc or tree.
type Item struct {
	Source  string `json:"source"`
	Version string `json:"version,omitempty"`
	DSC     string `json:"dsc,omitempty"`
	Tree    string `json:"tree,omitempty"`
}

// Report says what Prime or Check found.
type Report struct {
	Env        string `json:"env"`
	EnvCreated bool   `json:"env_created,omitempty"`
	// Sources has one entry per item, in plan order.
	Sources []SourceState `json:"sources"`
	// Packages is the number of distinct build-dependency packages
	// (name and version) over all sources.
	Packages int `json:"packages"`
	// Cached is how many of their .debs were already in the cache;
	// Fetched and FetchedBytes what Prime downloaded.
	Cached       int   `json:"cached"`
	Fetched      int   `json:"fetched"`
	FetchedBytes int64 `json:"fetched_bytes"`
	// CacheDir is the by-name directory of the .deb cache.
	CacheDir string `json:"cache_dir"`
}

// SourceState is one item's source and build-dependency set.
type SourceState struct {
	Source  string `json:"source"`
	Version string `json:"version"`
	DSC     string `json:"dsc,omitempty"`
	// Packages is the size of the resolved build-dependency set.
	Packages int `json:"packages"`
	// Layer is a kept build-dependency layer that holds the set (nothing
	// to install).
	Layer string `json:"layer,omitempty"`
	// Deferred is set when the set cannot be resolved before earlier plan
	// stages are built and published (it needs their binaries); Reason says
	// why.
	Deferred bool   `json:"deferred,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// CacheNamesDir returns the directory of the workspace's .deb cache that
// build sessions hand to apt (env.DebCache's by-name directory).
func CacheNamesDir(cfg *config.Config) (string, error) {
	return debCache(cfg).NamesDir()
}

func debCache(cfg *config.Config) *env.DebCache {
	return env.NewDebCache(filepath.Join(cfg.WorkspaceDir().Cache(), "debs"))
}

// SourceDir is where a fetched source package lives in the workspace (as
// packyard build leaves it).
func SourceDir(cfg *config.Config, ref *archive.SourceRef) string {
	return filepath.Join(cfg.WorkspaceDir().Sources(), ref.Package, ref.Version)
}

// findRef returns the pantry's stanza of it: the exact version when given,
// else the newest.
func findRef(p *archive.Pantry, it Item) (*archive.SourceRef, error) {
	if it.Version == "" {
		return p.FindSource(it.Source)
	}
	all, err := p.FindSourceAll(it.Source)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if r.Version == it.Version {
			return r, nil
		}
	}
	return nil, &archive.MissingError{Items: []string{fmt.Sprintf("source %s %s: not in any configured Sources index", it.Source, it.Version)},
		Command: "packyard refresh"}
}

// resolver resolves build-dependency sets in one environment.
type resolver struct {
	cfg  *config.Config
	rec  *record.Run
	spec *Spec
	dpkg *build.Dpkg
	env  *env.Env
}

func newResolver(cfg *config.Config, logger *slog.Logger, rec *record.Run, spec *Spec, envs *env.Manager, e *env.Env) *resolver {
	d := build.NewDpkg(envs, logger)
	d.CacheDir = cfg.WorkspaceDir().Cache()
	return &resolver{cfg: cfg, rec: rec, spec: spec, dpkg: d, env: e}
}

// resolve returns the build-dependency set of one source (a .dsc or a
// tree). The simulation runs with no network even when priming: apt reads
// the environment's own lists.
func (r *resolver) resolve(ctx context.Context, it Item, dsc string) (*build.DepSet, error) {
	req := build.Request{
		DSC: dsc, SourceTree: it.Tree, Env: r.env, Rec: r.rec, Arch: r.spec.Arch,
		NoArchAll: r.spec.NoArchAll, NoCheck: r.spec.NoCheck, Profiles: r.spec.Profiles,
		ExtraPackages: r.spec.ExtraPackages, ExtraRepositories: r.spec.ExtraRepositories,
		Offline: true,
	}
	if r.rec != nil {
		req.LogPath = r.rec.LogPath("resolve-" + it.Source + ".log")
	}
	if dsc != "" {
		req.SourceTree = ""
	}
	return r.dpkg.ResolveDeps(ctx, req)
}

// depIndex collects the packages of several sets, each with the sources
// that need it.
type depIndex struct {
	by map[archive.PackageID][]string
}

func (x *depIndex) add(source string, pkgs map[string]string) {
	if x.by == nil {
		x.by = map[archive.PackageID][]string{}
	}
	for name, v := range pkgs {
		id := archive.PackageID{Package: name, Version: v}
		x.by[id] = append(x.by[id], source)
	}
}

// ids returns the packages sorted by name and version.
func (x *depIndex) ids() []archive.PackageID {
	out := make([]archive.PackageID, 0, len(x.by))
	for id := range x.by {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Package != out[j].Package {
			return out[i].Package < out[j].Package
		}
		return out[i].Version < out[j].Version
	})
	return out
}

func (x *depIndex) neededBy(id archive.PackageID) string {
	s := append([]string(nil), x.by[archive.PackageID{Package: id.Package, Version: id.Version}]...)
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// dropLocal removes the packages that packyard's own repository has for
// dist (name and version), read from its published Packages indexes.
func (x *depIndex) dropLocal(cfg *config.Config, dist, arch string) {
	if dist == "" || len(x.by) == 0 {
		return
	}
	comps := []string{"main"}
	if d := cfg.Distribution(strings.SplitN(dist, "-", 2)[0]); d != nil && len(d.Components) > 0 {
		comps = d.Components
	}
	for _, c := range comps {
		dir := filepath.Join(cfg.WorkspaceDir().Repo(), "dists", dist, c, "binary-"+arch)
		for _, name := range []string{"Packages", "Packages.xz", "Packages.gz"} {
			paras, err := archive.LoadIndexFile(filepath.Join(dir, name))
			if err != nil {
				continue
			}
			for _, p := range paras {
				delete(x.by, archive.PackageID{Package: p.Get("Package"), Version: p.Get("Version")})
			}
			break
		}
	}
}

// unresolved returns the ids that refs does not contain.
func unresolved(ids []archive.PackageID, refs []archive.DebRef) []archive.PackageID {
	have := map[[2]string]bool{}
	for _, r := range refs {
		have[[2]string{r.Package, r.Version}] = true
	}
	var out []archive.PackageID
	for _, id := range ids {
		if !have[[2]string{id.Package, id.Version}] {
			out = append(out, id)
		}
	}
	return out
}

// cachedByName reports whether names holds a .deb of id under apt's name
// with any architecture (for packages the pantry does not list, whose
// architecture is unknown).
func cachedByName(names string, id archive.PackageID) bool {
	pattern := filepath.Join(names, globEscape(id.Package)+"_"+globEscape(strings.ReplaceAll(id.Version, ":", "%3a"))+"_*.deb")
	m, err := filepath.Glob(pattern)
	return err == nil && len(m) > 0
}

func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`).Replace(s)
}

// deferrable reports whether a failed resolution of an item in stage i
// can wait: later stages need binaries of earlier ones, which apt cannot
// see before they are published.
func deferrable(stage int, err error) bool {
	return stage > 0 && errors.Is(err, build.ErrBuildFailed)
}

func runner(logger *slog.Logger) *run.Runner { return run.New(logger) }

// itemResult is what priming or checking one item gave.
type itemResult struct {
	state   SourceState
	pkgs    map[string]string
	missing []string
	err     error
}

// forEachItem runs fn on every item of stages, up to parallel at once
// (each resolution is a session of its own), and returns the results in
// plan order.
func forEachItem(stages [][]Item, parallel int, fn func(stage int, it Item) itemResult) []itemResult {
	type job struct {
		stage int
		it    Item
	}
	var jobs []job
	for i, st := range stages {
		for _, it := range st {
			jobs = append(jobs, job{i, it})
		}
	}
	out := make([]itemResult, len(jobs))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i] = fn(j.stage, j.it)
		}()
	}
	wg.Wait()
	return out
}

// resolveParallel is how many sources are resolved at once.
func resolveParallel() int { return min(4, runtime.NumCPU()) }
