package repo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/parallel"
	"github.com/packyard/packyard/internal/run"
)

// stateDir holds everything under the repository root that is not the
// published view: store, generations, locks, journal.
const stateDir = ".packyard"

// Signer signs Release files; *sign.Key implements it.
type Signer interface {
	// ClearSign returns data clearsigned, the InRelease form.
	ClearSign(data []byte) ([]byte, error)
	// DetachSign returns an armored detached signature, the Release.gpg form.
	DetachSign(data []byte) ([]byte, error)
}

// Repo is packyard's repository in a workspace. Its methods are safe for
// concurrent use by several goroutines and processes: publishes of one
// distribution are serialized by a file lock, different distributions
// publish in parallel, and readers never wait.
type Repo struct {
	cfg    *config.Config
	key    Signer
	log    *slog.Logger
	root   string
	pool   pool
	chunks chunkStore
	// now is the clock for Release Date fields (tests replace it).
	now func() time.Time
	// chunkTarget is the size index chunks are cut to.
	chunkTarget int
	// plainLimit is the largest index also published uncompressed.
	plainLimit int64
	// grace is how long by-hash files and superseded generations stay.
	grace time.Duration
	// contents enables Contents-<arch> indexes.
	contents bool
	// hook, when set, is called at crash points (crash tests).
	hook func(point string)
	// Installability checks migrations; nil uses the built-in checker.
	installability InstallabilityChecker
	background     BackgroundFunc
	// runner starts xz for Contents listings.
	runner *run.Runner
}

// DefaultByHashGrace is how long by-hash files of superseded indexes stay
// reachable, as dak keeps them.
const DefaultByHashGrace = 36 * time.Hour

// Open returns the repository of cfg's workspace (cfg.WorkspaceDir().Repo()),
// creating its directories when missing. key signs every publish; it may be
// nil for read-only use, in which case publishing fails with ErrPublish.
func Open(cfg *config.Config, key Signer, logger *slog.Logger) (*Repo, error) {
	if logger == nil {
		logger = slog.Default()
	}
	root := cfg.WorkspaceDir().Repo()
	for _, d := range []string{"pool", "dists", "snapshots", filepath.Join(stateDir, "store", "sha256"), filepath.Join(stateDir, "store", "contents"), filepath.Join(stateDir, "chunks"), filepath.Join(stateDir, "generations"), filepath.Join(stateDir, "locks"), filepath.Join(stateDir, "journal")} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, fmt.Errorf("opening repository: %w", err)
		}
	}
	if err := makeFanout(filepath.Join(root, stateDir, "store", "sha256")); err != nil {
		// Only an optimisation: adds make missing ones (inFanout), and a
		// repository on a read-only mount must still open for reading.
		logger.Debug("making the store's subdirectories", "err", err)
	}
	// The two-hex-digit subdirectories of store/contents and chunks are
	// created as first used (inFanout), as are those of store/sha256 in a
	// repository made before makeFanout.
	runner := run.New(logger)
	return &Repo{
		cfg: cfg, key: key, log: logger, root: root,
		pool:        pool{root: root},
		chunks:      chunkStore{dir: filepath.Join(root, stateDir, "chunks"), runner: runner},
		now:         time.Now,
		chunkTarget: defaultChunkTarget,
		plainLimit:  1 << 20,
		grace:       DefaultByHashGrace,
		contents:    !cfg.Repository.SkipContents,
		runner:      runner,
	}, nil
}

// makeFanout makes the 256 two-hex-digit subdirectories of dir once (when
// dir/ff is missing). The pool's store is made whole with the repository
// rather than by its first adds: on ext4 a new directory costs far more
// than a file (about 90 µs of CPU on the benchmark machine, where the
// allocator checks inode tables for recently freed inodes), a cost the
// first add of many packages would otherwise pay 256 times over.
func makeFanout(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "ff")); err == nil {
		return nil
	}
	for i := 0; i < 256; i++ {
		if err := os.Mkdir(filepath.Join(dir, fmt.Sprintf("%02x", i)), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return syncDir(dir)
}

// Root returns the repository's root directory (the one served to clients).
func (r *Repo) Root() string { return r.root }

// target is a resolved distribution name: one suite of one codename.
type target struct {
	Name  string
	Dist  *config.Distribution
	Suite *config.Suite
}

// Distributions returns every configured distribution name
// (<codename>-<id>-<suite>) in config order.
func (r *Repo) Distributions() []string {
	var out []string
	for _, d := range r.cfg.Repository.Distributions {
		for _, s := range d.Suites {
			out = append(out, r.cfg.DistributionName(d.Codename, s.Name))
		}
	}
	return out
}

// resolve maps a distribution name to its config, or an
// *UnknownDistributionError.
func (r *Repo) resolve(name string) (*target, error) {
	for i := range r.cfg.Repository.Distributions {
		d := &r.cfg.Repository.Distributions[i]
		for j := range d.Suites {
			if r.cfg.DistributionName(d.Codename, d.Suites[j].Name) == name {
				return &target{Name: name, Dist: d, Suite: &d.Suites[j]}, nil
			}
		}
	}
	return nil, &UnknownDistributionError{Name: name, Known: r.Distributions()}
}

// PackageRef names one package in a distribution.
type PackageRef struct {
	Distribution string `json:"distribution,omitempty"`
	Package      string `json:"package"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"` // "source" for source packages
	Component    string `json:"component"`
	Source       string `json:"source,omitempty"`   // source package of a binary
	Filename     string `json:"filename,omitempty"` // pool path of the .deb, or the source's pool directory
}

// Result describes one publish.
type Result struct {
	Distribution string       `json:"distribution"`
	Generation   int          `json:"generation"`
	Date         time.Time    `json:"date"`
	Reason       string       `json:"reason"`
	Added        []PackageRef `json:"added,omitempty"`
	Replaced     []PackageRef `json:"replaced,omitempty"`
	Removed      []PackageRef `json:"removed,omitempty"`
	// Unchanged is set when everything added was already published, the
	// same files under the same names: no generation was made, and
	// Generation is the current one.
	Unchanged        bool         `json:"unchanged,omitempty"`
	AlreadyPublished []PackageRef `json:"already_published,omitempty"`
}

// AptSourceLine returns the one-line apt source for dist from a file: URI,
// for example
//
//	deb [signed-by=/root/.local/share/packyard/keys/packyard.gpg] file:/root/.local/share/packyard/repo bookworm-packyard-unstable main
func (r *Repo) AptSourceLine(dist string) string {
	return r.AptSourceLineURL("file:"+r.root, dist)
}

// AptSourceLineURL is AptSourceLine for a repository served at baseURL
// (such as http://host:8066/repo).
func (r *Repo) AptSourceLineURL(baseURL, dist string) string {
	comps := []string{"main"}
	if t, err := r.resolve(dist); err == nil && len(t.Dist.Components) > 0 {
		comps = t.Dist.Components
	}
	return fmt.Sprintf("deb [signed-by=%s] %s %s %s", r.cfg.WorkspaceDir().PublicKeyring(), strings.TrimRight(baseURL, "/"), dist, strings.Join(comps, " "))
}

// Add puts .deb, .udeb, .dsc (with the files it lists beside it) and
// .changes files (with every file they list, sizes and checksums verified)
// into the pool and publishes a new generation of dist that keeps everything
// it had, except that a package of the same name and architecture (or source
// name) is replaced.
//
// Bad input is rejected before anything changes: *UnknownDistributionError,
// *FileError, *ChecksumError, *UnsafeNameError and *ConflictError, all
// wrapping ErrBadInput (or ErrUnknownDistribution). Failures while writing
// wrap ErrPublish; the published generation is then the old one.
func (r *Repo) Add(ctx context.Context, dist string, files ...string) (*Result, error) {
	return r.AddWith(ctx, dist, AddOptions{}, files...)
}

// AddOptions tune AddWith.
type AddOptions struct {
	// LinkInputs hard-links every input file into the pool's store instead
	// of copying it when it is on the repository's filesystem and readable
	// by everyone. Use it only for files nobody will rewrite in place: a
	// rewrite would change the published file. Without it, only inputs in
	// the workspace's runs directory (packyard's own build results, which
	// it never rewrites) are linked, and everything else is copied.
	LinkInputs bool
}

// AddWith is Add with options.
func (r *Repo) AddWith(ctx context.Context, dist string, opts AddOptions, files ...string) (*Result, error) {
	t, err := r.resolve(dist)
	if err != nil {
		return nil, err
	}
	// The shared pool lock keeps gc from collecting blobs stored before
	// the generation that refers to them is published.
	unlockPool, err := r.lockFile(ctx, "pool.lock", true)
	if err != nil {
		return nil, publishErr("adding to "+dist, err)
	}
	defer unlockPool()
	c := &collector{ctx: ctx, run: r.runner, pool: r.pool, ss: newSyncSet(), withContents: r.contents, link: opts.LinkInputs, linkUnder: r.cfg.WorkspaceDir().Runs(), components: t.Dist.Components}
	start := time.Now()
	u, err := c.collect(files)
	if err != nil {
		return nil, err
	}
	r.log.Debug("collected", "files", len(files), "duration", time.Since(start))
	if err := r.place(t, u); err != nil {
		return nil, err
	}
	if err := r.checkPool(u); err != nil {
		return nil, err
	}
	r.crashPoint("pool-checked")
	var res *Result
	m, err := r.changeLocked(ctx, t, "add "+u.describe(), func(x *txn) error {
		x.sync.merge(c.ss)
		if err := r.linkPool(u, x.sync); err != nil {
			return fmt.Errorf("storing files: %w", err)
		}
		var err error
		res, err = x.addUpload(u)
		// Every package already there, the same: nothing to publish.
		x.skipUnchanged = true
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Generation, res.Date, res.Reason = m.Generation, m.Date, m.Reason
	if res.Unchanged = m.unchanged; res.Unchanged {
		res.Reason = "already published: " + u.describe()
		res.AlreadyPublished, res.Added, res.Replaced = res.Added, nil, nil
	}
	return res, nil
}

// place sets the component and pool file name of every item and checks the
// architectures against the distribution.
func (r *Repo) place(t *target, u *upload) error {
	archs := map[string]bool{"all": true}
	for _, a := range t.Dist.Architectures {
		archs[a] = true
	}
	for i := range u.Binaries {
		b := &u.Binaries[i]
		if !archs[b.Arch] {
			return &FileError{Path: b.File.Path, Err: fmt.Errorf("architecture %s is not one of %s's (%s)", b.Arch, t.Name, strings.Join(t.Dist.Architectures, " "))}
		}
		b.Component = componentOf(b.Control.get("Section"), t.Dist.Components)
	}
	for i := range u.Sources {
		s := &u.Sources[i]
		s.Component = componentOf(s.Control.get("Section"), t.Dist.Components)
	}
	return nil
}

// componentOf returns the component named by a "contrib/net" style section
// when the distribution has it, else the first component.
func componentOf(section string, comps []string) string {
	if len(comps) == 0 {
		return "main"
	}
	if i := strings.IndexByte(section, '/'); i > 0 {
		for _, c := range comps {
			if c == section[:i] {
				return c
			}
		}
	}
	return comps[0]
}

// poolItem is one file of an upload and its pool path.
type poolItem struct {
	In  inputFile
	Rel string
	// Package and Version are the package the file belongs to.
	Package, Version string
	// Record marks a .changes or .buildinfo: records of an upload that
	// no index lists. A new one replaces a pooled one of the same name
	// (the newest is kept) instead of conflicting with it.
	Record bool
}

// poolItems lists every file of u with its pool path.
func (u *upload) poolItems() []poolItem {
	var out []poolItem
	comp, ver := "main", ""
	for _, b := range u.Binaries {
		out = append(out, poolItem{In: b.File, Rel: poolDir(b.Component, b.Source) + "/" + b.File.Name, Package: b.Package, Version: b.Version})
		comp, ver = b.Component, b.SourceVersion
	}
	for _, s := range u.Sources {
		dir := poolDir(s.Component, s.Package)
		out = append(out, poolItem{In: s.DSC, Rel: dir + "/" + s.DSC.Name, Package: s.Package, Version: s.Version})
		for _, f := range s.Files {
			out = append(out, poolItem{In: f, Rel: dir + "/" + f.Name, Package: s.Package, Version: s.Version})
		}
		comp, ver = s.Component, s.Version
	}
	if u.ExtraSrc != "" {
		for _, e := range u.Extras {
			out = append(out, poolItem{In: e, Rel: poolDir(comp, u.ExtraSrc) + "/" + e.Name, Package: u.ExtraSrc, Version: ver, Record: true})
		}
	}
	return out
}

// checkPool refuses an upload that would change a published pool file
// (*ConflictError naming the first); .changes and .buildinfo records are
// exempt, as the build they record may differ in time stamps only. Files
// are checked in parallel.
func (r *Repo) checkPool(u *upload) error {
	items := u.poolItems()
	errs := make([]error, len(items))
	parallel.For(len(items), 1, func(i int) error {
		if !items[i].Record {
			errs[i] = r.pool.check(items[i].Rel, items[i].In.Sum)
		}
		return nil
	})
	if err := firstConflict(items, errs); err != nil {
		return err
	}
	if err := errors.Join(errs...); err != nil {
		return publishErr("checking pool", err)
	}
	return nil
}

// firstConflict returns the first *ConflictError of errs (errs[i] is
// items[i]'s), naming the package its file belongs to, or nil.
func firstConflict(items []poolItem, errs []error) error {
	for i, err := range errs {
		if ce, ok := errors.AsType[*ConflictError](err); ok {
			ce.Package, ce.Version = items[i].Package, items[i].Version
			return err
		}
	}
	return nil
}

// linkPool presents every file of u in the pool, in parallel. Of files
// that share one pool path within u, only the last is linked (it is the
// one u's indexes list). A different file that a concurrent add linked at
// one of u's paths since checkPool is a *ConflictError.
func (r *Repo) linkPool(u *upload, ss *syncSet) error {
	items := u.poolItems()
	last := make(map[string]int, len(items))
	for i, it := range items {
		last[it.Rel] = i
	}
	errs := make([]error, len(items))
	parallel.For(len(items), 1, func(i int) error {
		if last[items[i].Rel] == i {
			errs[i] = r.pool.link(items[i].Rel, items[i].In.Sum, items[i].Record, ss)
		}
		return nil
	})
	if err := firstConflict(items, errs); err != nil {
		return err
	}
	return errors.Join(errs...)
}
