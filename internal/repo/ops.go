package repo

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"pault.ag/go/debian/version"
)

// state is a read-only view of one published generation.
type state struct {
	r *Repo
	t *target
	m *manifest // nil when never published
}

// published returns the current generation of dist without taking any lock:
// generations and chunks never change once published, so readers never wait.
func (r *Repo) published(dist string) (*state, error) {
	t, err := r.resolve(dist)
	if err != nil {
		return nil, err
	}
	n, _, err := r.current(dist)
	if err != nil {
		return nil, err
	}
	st := &state{r: r, t: t}
	if n > 0 {
		if st.m, err = r.loadManifest(dist, n); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// each calls fn for every Packages and Sources stanza of chunks, with the
// component its index belongs to. Architecture: all packages appear once
// per architecture index.
func eachStanza(r *Repo, indexes map[string][]chunkRef, fn func(spec indexSpec, data []byte) error) error {
	keys := make([]string, 0, len(indexes))
	for k := range indexes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := specFromKey(k)
		if s.Kind != kindStanza {
			continue
		}
		w := newWorkIndex(s.Kind, r.chunks, r.chunkTarget, indexes[k])
		if err := w.all(func(_ string, data []byte) error { return fn(s, data) }); err != nil {
			return err
		}
	}
	return nil
}

// component returns the component of an index spec.
func (s indexSpec) component() string {
	if i := strings.IndexByte(s.Dir, '/'); i >= 0 {
		return s.Dir[:i]
	}
	return s.Dir
}

// List returns every source and binary package of dist (Architecture: all
// packages once), sorted by package name and architecture.
func (r *Repo) List(ctx context.Context, dist string) ([]PackageRef, error) {
	st, err := r.published(dist)
	if err != nil {
		return nil, err
	}
	return st.list()
}

func (st *state) list() ([]PackageRef, error) {
	if st.m == nil {
		return nil, nil
	}
	seen := map[string]bool{}
	var out []PackageRef
	err := eachStanza(st.r, st.m.Indexes, func(s indexSpec, data []byte) error {
		ref := refOf(data, s.component())
		ref.Distribution = st.t.Name
		k := ref.Package + "\x00" + ref.Architecture + "\x00" + ref.Version
		if !seen[k] {
			seen[k] = true
			out = append(out, ref)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Package != out[j].Package {
			return out[i].Package < out[j].Package
		}
		return out[i].Architecture < out[j].Architecture
	})
	return out, err
}

// Show returns the versions of a source or binary package named name in
// every distribution: the source package, and its binaries.
func (r *Repo) Show(ctx context.Context, name string) ([]PackageRef, error) {
	var out []PackageRef
	for _, d := range r.Distributions() {
		st, err := r.published(d)
		if err != nil {
			return nil, err
		}
		refs, err := st.list()
		if err != nil {
			return nil, err
		}
		for _, ref := range refs {
			if ref.Package == name || ref.Source == name {
				out = append(out, ref)
			}
		}
	}
	if len(out) == 0 {
		return nil, &NotFoundError{What: "package", Name: name, Where: "any distribution"}
	}
	return out, nil
}

// Remove deletes source packages (with every binary built from them) or,
// for names that are no source, binary packages from dist, and publishes.
// A name found nowhere gives a *NotFoundError and changes nothing.
func (r *Repo) Remove(ctx context.Context, dist string, names ...string) (*Result, error) {
	t, err := r.resolve(dist)
	if err != nil {
		return nil, err
	}
	res := &Result{Distribution: dist}
	m, err := r.changeManifest(ctx, t, "remove "+strings.Join(names, " "), func(x *txn) error {
		for _, n := range names {
			removed, err := x.removeSource(n, nil)
			if err != nil {
				return err
			}
			if len(removed) == 0 {
				return &NotFoundError{What: "package", Name: n, Where: dist}
			}
			res.Removed = append(res.Removed, removed...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Generation, res.Date, res.Reason = m.Generation, m.Date, m.Reason
	return res, nil
}

// binaryDirArch reads a binary index directory ("main/binary-amd64",
// "main/debian-installer/binary-amd64"): whether it holds udebs, and its
// architecture.
func binaryDirArch(dir string) (udeb bool, arch string) {
	return strings.Contains(dir, "/debian-installer/"), strings.TrimPrefix(dir[strings.LastIndexByte(dir, '/')+1:], "binary-")
}

// binarySpecs lists the binary indexes x publishes or has.
func (x *txn) binarySpecs() []indexSpec {
	var out []indexSpec
	for _, s := range x.specs() {
		if s.Kind == kindStanza && s.Base == "Packages" {
			out = append(out, s)
		}
	}
	return out
}

// removeSource removes source name and its binaries (or the binary package
// name when no package has it as source), except binaries in keep
// ("package/arch").
func (x *txn) removeSource(name string, keep map[string]bool) ([]PackageRef, error) {
	var out []PackageRef
	for _, c := range x.t.Dist.Components {
		w := x.index(sourceSpec(c))
		old, err := w.get(name)
		if err != nil {
			return nil, err
		}
		if old != nil {
			out = append(out, refOf(old, c))
			w.put(name, nil)
		}
	}
	for _, s := range x.binarySpecs() {
		w := x.index(s)
		var drop []PackageRef
		err := w.all(func(key string, data []byte) error {
			ref := refOf(data, s.component())
			if (ref.Source == name || ref.Package == name) && !keep[ref.Package+"/"+ref.Architecture] {
				drop = append(drop, ref)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, ref := range drop {
			data, _ := w.get(ref.Package)
			w.put(ref.Package, nil)
			udeb, arch := binaryDirArch(s.Dir)
			if err := x.contentsEdit(ref.Component, arch, udeb, x.r.pool.contentsOf(fieldOf(data, "SHA256")), contentsLocation(fieldOf(data, "Section"), ref.Package), false); err != nil {
				return nil, err
			}
			out = append(out, ref)
		}
	}
	return dedupeRefs(out), nil
}

func dedupeRefs(refs []PackageRef) []PackageRef {
	seen := map[string]bool{}
	var out []PackageRef
	for _, r := range refs {
		k := r.Package + "\x00" + r.Architecture + "\x00" + r.Version
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

// sourceSet is a source package with its binaries as found in one generation.
type sourceSet struct {
	Source   []byte   // Sources stanza, nil for binary-only
	Comp     string   // component of the source
	Version  string   // source version
	Binaries []binSet // one per package and architecture
}

type binSet struct {
	Ref  PackageRef
	Udeb bool
	Data []byte
}

// findSource collects source name and its binaries from a generation.
func (st *state) findSource(name string) (*sourceSet, error) {
	if st.m == nil {
		return nil, &NotFoundError{What: "source package", Name: name, Where: st.t.Name}
	}
	set := &sourceSet{}
	seen := map[string]bool{}
	err := eachStanza(st.r, st.m.Indexes, func(s indexSpec, data []byte) error {
		ref := refOf(data, s.component())
		if ref.Source != name {
			return nil
		}
		if ref.Architecture == "source" {
			set.Source, set.Comp, set.Version = data, ref.Component, ref.Version
			return nil
		}
		k := ref.Package + "/" + ref.Architecture
		if !seen[k] {
			seen[k] = true
			set.Binaries = append(set.Binaries, binSet{Ref: ref, Udeb: strings.Contains(s.Dir, "/debian-installer/"), Data: data})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if set.Source == nil && len(set.Binaries) == 0 {
		return nil, &NotFoundError{What: "source package", Name: name, Where: st.t.Name}
	}
	if set.Version == "" {
		for _, b := range set.Binaries {
			if v := sourceVersionOf(b.Data); set.Version == "" || compareVersions(v, set.Version) > 0 {
				set.Version = v
			}
		}
	}
	return set, nil
}

// sourceVersionOf returns the source version a Packages stanza names
// ("Source: name (version)") or its own version.
func sourceVersionOf(data []byte) string {
	if f := strings.Fields(fieldOf(data, "Source")); len(f) > 1 {
		return strings.Trim(strings.Join(f[1:], ""), "()")
	}
	return fieldOf(data, "Version")
}

// compareVersions compares Debian versions (Policy 5.6.12); unparsable
// versions compare as strings.
func compareVersions(a, b string) int {
	va, err1 := version.Parse(a)
	vb, err2 := version.Parse(b)
	if err1 != nil || err2 != nil {
		return strings.Compare(a, b)
	}
	return version.Compare(va, vb)
}

// putSourceSet writes a source package and its binaries into x, removing
// binaries of the same source that the new version no longer builds.
func (x *txn) putSourceSet(name string, set *sourceSet) (added, replaced, removed []PackageRef, err error) {
	keep := map[string]bool{}
	archs := map[string]bool{"all": true}
	for _, a := range x.t.Dist.Architectures {
		archs[a] = true
	}
	for _, b := range set.Binaries {
		keep[b.Ref.Package+"/"+b.Ref.Architecture] = true
	}
	// Drop binaries of the old version that the new one does not build.
	for _, s := range x.binarySpecs() {
		w := x.index(s)
		var drop []string
		err := w.all(func(key string, data []byte) error {
			ref := refOf(data, s.component())
			if ref.Source == name && !keep[ref.Package+"/"+ref.Architecture] {
				drop = append(drop, key)
				removed = append(removed, ref)
			}
			return nil
		})
		if err != nil {
			return nil, nil, nil, err
		}
		for _, k := range drop {
			data, _ := w.get(k)
			w.put(k, nil)
			udeb, arch := binaryDirArch(s.Dir)
			if err := x.contentsEdit(s.component(), arch, udeb, x.r.pool.contentsOf(fieldOf(data, "SHA256")), contentsLocation(fieldOf(data, "Section"), k), false); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	if set.Source != nil {
		old, err := x.putSource(set.Comp, name, set.Version, set.Source)
		if err != nil {
			return nil, nil, nil, err
		}
		if old != nil {
			replaced = append(replaced, *old)
		}
		added = append(added, refOf(set.Source, set.Comp))
	}
	for _, b := range set.Binaries {
		if !archs[b.Ref.Architecture] {
			continue
		}
		old, err := x.putBinary(b.Ref, b.Udeb, b.Data, x.r.pool.contentsOf(fieldOf(b.Data, "SHA256")), fieldOf(b.Data, "Section"))
		if err != nil {
			return nil, nil, nil, err
		}
		if old != nil {
			replaced = append(replaced, *old)
		}
		added = append(added, b.Ref)
	}
	return added, replaced, dedupeRefs(removed), nil
}

// Copy copies source packages (with their binaries) from one distribution
// to another as they are, without migration checks; lower versions than
// the target's are refused (*VersionError).
func (r *Repo) Copy(ctx context.Context, from, to string, names ...string) (*Result, error) {
	return r.copyOrMigrate(ctx, from, to, names, false)
}

// Migrate moves source package name (with its binaries) from dist from to
// dist to: to "" means from's suite's migrates-to suite in the layout. It
// refuses (*VersionError) unless the version goes up, and refuses
// (*UninstallableError) when a package of the target would become
// uninstallable.
func (r *Repo) Migrate(ctx context.Context, name, from, to string) (*Result, error) {
	if to == "" {
		t, err := r.resolve(from)
		if err != nil {
			return nil, err
		}
		if t.Suite.MigratesTo == "" {
			return nil, &VersionError{Package: name, Distribution: from, Reason: "suite " + t.Suite.Name + " does not migrate anywhere (no migrates-to in the layout)"}
		}
		to = r.cfg.DistributionName(t.Dist.Codename, t.Suite.MigratesTo)
	}
	return r.copyOrMigrate(ctx, from, to, []string{name}, true)
}

func (r *Repo) copyOrMigrate(ctx context.Context, from, to string, names []string, migrate bool) (*Result, error) {
	src, err := r.published(from)
	if err != nil {
		return nil, err
	}
	t, err := r.resolve(to)
	if err != nil {
		return nil, err
	}
	if from == to {
		return nil, &VersionError{Distribution: to, Reason: "source and target distribution are the same"}
	}
	sets := map[string]*sourceSet{}
	for _, n := range names {
		if sets[n], err = src.findSource(n); err != nil {
			return nil, err
		}
	}
	verb := "copy"
	if migrate {
		verb = "migrate"
	}
	res := &Result{Distribution: to}
	m, err := r.changeManifest(ctx, t, fmt.Sprintf("%s %s from %s", verb, strings.Join(names, " "), from), func(x *txn) error {
		var before map[string]map[string]string
		if migrate {
			var err error
			if before, err = x.uninstallable(ctx, false); err != nil {
				return err
			}
		}
		for _, n := range names {
			set := sets[n]
			if migrate {
				if err := x.checkMigrationVersion(n, set); err != nil {
					return err
				}
			}
			added, replaced, removed, err := x.putSourceSet(n, set)
			if err != nil {
				return err
			}
			res.Added = append(res.Added, added...)
			res.Replaced = append(res.Replaced, replaced...)
			res.Removed = append(res.Removed, removed...)
		}
		if migrate {
			after, err := x.uninstallable(ctx, true)
			if err != nil {
				return err
			}
			if broken := newlyBroken(before, after); len(broken) > 0 {
				return &UninstallableError{Distribution: to, Source: strings.Join(names, " "), Packages: broken}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Generation, res.Date, res.Reason = m.Generation, m.Date, m.Reason
	return res, nil
}

// checkMigrationVersion refuses a migration whose version does not go up.
func (x *txn) checkMigrationVersion(name string, set *sourceSet) error {
	cur, err := x.currentSourceVersion(name)
	if err != nil {
		return err
	}
	if cur != "" && compareVersions(set.Version, cur) <= 0 {
		return &VersionError{Package: name, Version: set.Version, Distribution: x.t.Name, Reason: fmt.Sprintf("version does not go up (%s has %s)", x.t.Name, cur)}
	}
	return nil
}

// currentSourceVersion returns the version of source name in x, or "".
func (x *txn) currentSourceVersion(name string) (string, error) {
	for _, c := range x.t.Dist.Components {
		data, err := x.index(sourceSpec(c)).get(name)
		if err != nil {
			return "", err
		}
		if data != nil {
			return fieldOf(data, "Version"), nil
		}
	}
	var v string
	for _, s := range x.binarySpecs() {
		err := x.index(s).all(func(_ string, data []byte) error {
			if ref := refOf(data, ""); ref.Source == name {
				if sv := sourceVersionOf(data); v == "" || compareVersions(sv, v) > 0 {
					v = sv
				}
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return v, nil
}
