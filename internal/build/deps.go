package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/packyard/packyard/internal/env"
)

// layerKeyVersion changes when what LayerIndexKey hashes changes.
const layerKeyVersion = "packyard-layer-key-v1"

// buildDepFields are the debian/control source fields that decide the
// build-dependency set (Debian Policy §7.7).
var buildDepFields = []string{"Build-Depends", "Build-Depends-Arch", "Build-Depends-Indep",
	"Build-Conflicts", "Build-Conflicts-Arch", "Build-Conflicts-Indep"}

// BuildDepRelations returns the build-dependency fields of the source
// paragraph (the first) of a debian/control, name -> value with
// continuation lines joined and whitespace normalized.
func BuildDepRelations(control []byte) map[string]string {
	out := map[string]string{}
	field, started := "", false
	for _, line := range strings.Split(string(control), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			if started {
				break
			}
			continue
		}
		started = true
		if line[0] == ' ' || line[0] == '\t' {
			if field != "" {
				out[field] = strings.TrimSpace(out[field] + " " + strings.TrimSpace(line))
			}
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		field = ""
		for _, f := range buildDepFields {
			if strings.EqualFold(name, f) {
				field = f
				out[f] = strings.Join(strings.Fields(value), " ")
			}
		}
	}
	return out
}

// LayerIndexKey hashes what decides a build's resolved build-dependency
// set besides the archive state: the environment's identity, the
// build-dependency relations, and the options that select among them.
// extraState names the state of extra repositories ("" when none).
func LayerIndexKey(envID string, relations map[string]string, r Request, extraState string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nenv=%s\n", layerKeyVersion, envID)
	for _, f := range buildDepFields {
		fmt.Fprintf(h, "%s=%s\n", f, relations[f])
	}
	extra := append([]string(nil), r.ExtraPackages...)
	sort.Strings(extra)
	fmt.Fprintf(h, "arch-all=%t\nprofiles=%s\nextra=%s\nrepos=%s\n", !r.NoArchAll,
		strings.Join(profiles(r), ","), strings.Join(extra, ","), extraState)
	return hex.EncodeToString(h.Sum(nil))
}

var aptInstLine = regexp.MustCompile(`^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) `)

// ParseAptSimulation returns name -> version of the packages an
// `apt-get --simulate` run would install or upgrade (its "Inst" lines).
func ParseAptSimulation(out string) map[string]string {
	pkgs := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if m := aptInstLine.FindStringSubmatch(line); m != nil {
			pkgs[m[1]] = m[2]
		}
	}
	return pkgs
}

// NewPackages returns the packages of status (a dpkg status file) that
// are not installed with the same version in base.
func NewPackages(base map[string]string, status []byte) map[string]string {
	out := map[string]string{}
	for n, v := range env.InstalledPackages(status) {
		if base[n] != v {
			out[n] = v
		}
	}
	return out
}

// prepareDeps makes the session's root hold the build-dependencies: from a
// known layer when one matches (installing nothing), else by installing
// them and keeping the result as a new layer.
func (d *Dpkg) prepareDeps(ctx context.Context, j *job) error {
	e := j.req.Env
	control, err := os.ReadFile(filepath.Join(j.hostDir(), "debian", "control"))
	if err != nil {
		return fmt.Errorf("reading debian/control: %w", err)
	}
	ix := newDepIndex(e, j.req, control)
	if l, ok := ix.lookup(e); ok {
		return j.reuseLayer(l, "index")
	}
	mounts, err := d.depMounts(j)
	if err != nil {
		return err
	}
	resolved, err := j.simulateDeps(ctx, mounts)
	if err != nil {
		return err
	}
	if len(resolved) == 0 {
		fmt.Fprintf(j.log, "packyard: build-dependencies already satisfied by the environment; nothing to install\n")
		j.req.Rec.Event("build.deps", map[string]any{"layer": "", "installed": 0, "reused": true})
		return nil
	}
	if l, err := e.Layer(env.LayerHash(resolved)); err == nil {
		ix.record(e, l)
		return j.reuseLayer(l, "resolved set")
	}
	if err := d.installDeps(ctx, j, mounts); err != nil {
		return err
	}
	if j.cache != nil {
		if n, b, err := j.cache.IngestFrom(j.archives()); err == nil && n > 0 {
			j.req.Rec.Event("cache.ingest", map[string]any{"files": n, "bytes": b})
		}
	}
	status, err := os.ReadFile(filepath.Join(j.sess.Dir, "upper", "var/lib/dpkg/status"))
	if err != nil {
		return fmt.Errorf("reading installed build-dependencies: %w", err)
	}
	installed := NewPackages(e.Manifest.Packages, status)
	dropAptCaches(filepath.Join(j.sess.Dir, "upper"))
	l, err := j.sess.CommitLayer(installed)
	if err != nil {
		return fmt.Errorf("keeping build-dependency layer: %w", err)
	}
	ix.record(e, l)
	fmt.Fprintf(j.log, "packyard: kept build-dependency layer %s (%d packages, %d bytes)\n", l.Manifest.Hash[:16], len(installed), l.Manifest.Size)
	j.req.Rec.Event("build.deps", map[string]any{"layer": l.Manifest.Hash, "installed": len(installed), "reused": false, "bytes": l.Manifest.Size})
	return nil
}

// simulateDeps returns what apt would install for the build (name ->
// version): the build-dependencies and the extra packages, after
// refreshing the extra repositories' lists.
func (j *job) simulateDeps(ctx context.Context, mounts []env.Mount) (map[string]string, error) {
	if len(j.req.ExtraRepositories) > 0 {
		if err := j.rootStep(ctx, mounts, extraUpdateArgs()); err != nil {
			return nil, err
		}
	}
	var sim strings.Builder
	if err := j.rootStepTo(ctx, mounts, simulate(AptBuildDepArgs(j.req, j.dir)), &sim); err != nil {
		return nil, err
	}
	if len(j.req.ExtraPackages) > 0 {
		if err := j.rootStepTo(ctx, mounts, simulate(AptInstallArgs(j.req.ExtraPackages)), &sim); err != nil {
			return nil, err
		}
	}
	return ParseAptSimulation(sim.String()), nil
}

// archives is the session's own apt archives directory (host side).
func (j *job) archives() string { return filepath.Join(j.sess.Dir, "archives") }

func (j *job) reuseLayer(l *env.Layer, how string) error {
	if err := j.sess.UseLayer(l); err != nil {
		return err
	}
	fmt.Fprintf(j.log, "packyard: build-dependency layer %s reused (found by %s, %d packages): nothing to install\n",
		l.Manifest.Hash[:16], how, len(l.Manifest.Packages))
	j.req.Rec.Event("build.deps", map[string]any{"layer": l.Manifest.Hash, "installed": 0, "reused": true, "found_by": how})
	return nil
}

// dropAptCaches removes apt's binary caches from a layer-to-be: they are
// rebuilt on demand and would only fatten every layer.
func dropAptCaches(upper string) {
	for _, f := range []string{"pkgcache.bin", "srcpkgcache.bin"} {
		_ = os.Remove(filepath.Join(upper, "var/cache/apt", f))
	}
}

func simulate(args []string) []string {
	return append([]string{args[0], "--simulate"}, args[1:]...)
}

// extraUpdateArgs refreshes only the extra repositories' lists.
func extraUpdateArgs() []string {
	return []string{"apt-get", "update", "--error-on=any",
		"-o", "Dir::Etc::SourceList=sources.list.d/packyard-extra.list",
		"-o", "Dir::Etc::SourceParts=-", "-o", "APT::Get::List-Cleanup=0"}
}

func (d *Dpkg) depMounts(j *job) ([]env.Mount, error) {
	mounts, _ := extraRepositoryMounts(j.req.ExtraRepositories, j.sess.BuildDir)
	if j.cache != nil {
		if err := j.cache.Populate(j.archives()); err != nil {
			return nil, err
		}
		mounts = append(mounts, env.Mount{Source: j.archives(), Dest: "/var/cache/apt/archives"})
	}
	return mounts, nil
}

func (j *job) rootStep(ctx context.Context, mounts []env.Mount, args []string) error {
	return j.rootStepTo(ctx, mounts, args, nil)
}

func (j *job) rootStepTo(ctx context.Context, mounts []env.Mount, args []string, out *strings.Builder) error {
	fmt.Fprintf(j.log, "packyard: %s\n", joinArgs(args))
	logw := j.log
	if out != nil {
		logw = multiWriter{j.log, out}
	}
	return j.run(ctx, env.Step{Name: "build-deps", Command: args, Network: !j.req.Offline, Dir: "/build",
		Env: RootEnvironment(), Mounts: mounts, Log: logw})
}

type multiWriter struct {
	a interface{ Write([]byte) (int, error) }
	b *strings.Builder
}

func (m multiWriter) Write(p []byte) (int, error) {
	if _, err := m.a.Write(p); err != nil {
		return 0, err
	}
	return m.b.Write(p)
}

// installDeps installs the build-dependencies (and extra packages) as root
// with network. Stale apt lists are refreshed once when installation fails.
func (d *Dpkg) installDeps(ctx context.Context, j *job, mounts []env.Mount) error {
	install := func() error {
		if err := j.rootStep(ctx, mounts, offlineArgs(j.req, AptBuildDepArgs(j.req, j.dir))); err != nil {
			return err
		}
		if len(j.req.ExtraPackages) > 0 {
			return j.rootStep(ctx, mounts, offlineArgs(j.req, AptInstallArgs(j.req.ExtraPackages)))
		}
		return nil
	}
	err := install()
	if err == nil || j.req.Offline {
		return err
	}
	fmt.Fprintf(j.log, "packyard: installing build-dependencies failed; refreshing apt lists and retrying\n")
	if uerr := j.rootStep(ctx, mounts, []string{"apt-get", "update", "--error-on=any"}); uerr != nil {
		return errors.Join(err, uerr)
	}
	return install()
}
