package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/packyard/packyard/internal/env"
)

// DepSet is the build-dependency set of a request as apt resolves it in
// the request's environment.
type DepSet struct {
	Source  string
	Version string
	// Packages maps each package apt would install for the build to its
	// exact version (the Inst lines of apt-get --simulate build-dep, plus
	// the extra packages); empty when the environment already satisfies the
	// build-dependencies.
	Packages map[string]string
	// Layer is the hash of a kept build-dependency layer that already holds
	// the set: a build of the request installs nothing and needs no .deb.
	Layer string
}

// ResolveDeps returns the build-dependency set of req without installing
// anything: the source is staged and unpacked in a throw-away session over
// req.Env, and the set is whatever a build would find, either a kept layer
// (by the layer index or by the resolved set's hash) or apt-get's
// simulation of build-dep. The steps get the network only when
// req.Offline is false (the simulation itself needs none: apt reads the
// environment's lists). Errors are *Error (wrapping ErrBuildFailed) for a
// failed step, with the log at req.LogPath.
func (d *Dpkg) ResolveDeps(ctx context.Context, req Request) (set *DepSet, err error) {
	j, closeLog, err := startJob(req)
	if err != nil {
		return nil, err
	}
	defer closeLog()
	req = j.req
	start := time.Now()
	sess, err := d.Envs.OpenSession(ctx, req.Env)
	if err != nil {
		return nil, fmt.Errorf("opening resolution session: %w", err)
	}
	defer func() {
		if cerr := sess.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	j.sess = sess
	if d.CacheDir != "" {
		j.cache = env.NewDebCache(filepath.Join(d.CacheDir, "debs"))
	}
	if err := j.stage(); err != nil {
		return nil, j.fail("stage", err)
	}
	if err := j.unpack(ctx); err != nil {
		return nil, j.fail("extract", err)
	}
	set, err = d.resolve(ctx, j)
	if err != nil {
		return nil, j.fail("build-deps", err)
	}
	req.Rec.Event("build.deps.resolved", map[string]any{"source": j.source, "version": j.version,
		"packages": len(set.Packages), "layer": set.Layer, "seconds": time.Since(start).Seconds()})
	return set, nil
}

// resolve is prepareDeps without installing: the layer a build would
// reuse, else apt's simulated set.
func (d *Dpkg) resolve(ctx context.Context, j *job) (*DepSet, error) {
	e := j.req.Env
	set := &DepSet{Source: j.source, Version: j.version, Packages: map[string]string{}}
	control, err := os.ReadFile(filepath.Join(j.hostDir(), "debian", "control"))
	if err != nil {
		return nil, fmt.Errorf("reading debian/control: %w", err)
	}
	if l, ok := newDepIndex(e, j.req, control).lookup(e); ok {
		set.Layer, set.Packages = l.Manifest.Hash, l.Manifest.Packages
		return set, nil
	}
	mounts, err := d.depMounts(j)
	if err != nil {
		return nil, err
	}
	if set.Packages, err = j.simulateDeps(ctx, mounts); err != nil {
		return nil, err
	}
	if len(set.Packages) > 0 {
		if _, err := e.Layer(env.LayerHash(set.Packages)); err == nil {
			set.Layer = env.LayerHash(set.Packages)
		}
	}
	return set, nil
}

// offlineArgs makes an apt-get install or build-dep command use only the
// .debs already in /var/cache/apt/archives (apt-get(8) --no-download) when
// r is offline.
func offlineArgs(r Request, args []string) []string {
	if !r.Offline || len(args) < 2 {
		return args
	}
	return append([]string{args[0], args[1], "--no-download"}, args[2:]...)
}
