package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"pault.ag/go/debian/version"
)

// changeManifest runs one edit of t under its lock and the shared pool
// lock, then publishes the result. Errors from fn that wrap ErrBadInput (or
// the other typed refusals) are returned as they are; everything else wraps
// ErrPublish.
func (r *Repo) changeManifest(ctx context.Context, t *target, reason string, fn func(x *txn) error) (*manifest, error) {
	unlockPool, err := r.lockFile(ctx, "pool.lock", true)
	if err != nil {
		return nil, publishErr("publishing "+t.Name, err)
	}
	defer unlockPool()
	return r.changeLocked(ctx, t, reason, fn)
}

// changeLocked is changeManifest for a caller holding the shared pool lock.
func (r *Repo) changeLocked(ctx context.Context, t *target, reason string, fn func(x *txn) error) (*manifest, error) {
	unlock, err := r.lockDist(ctx, t.Name)
	if err != nil {
		return nil, publishErr("publishing "+t.Name, err)
	}
	defer unlock()
	x, err := r.begin(t, reason)
	if err != nil {
		return nil, publishErr("reading "+t.Name, err)
	}
	if err := fn(x); err != nil {
		if isRefusal(err) {
			return nil, err
		}
		return nil, publishErr("publishing "+t.Name, err)
	}
	if x.skipUnchanged && x.prev != nil && !x.changed() {
		// Nothing to publish; what fn stored (pool records) is made durable.
		if err := x.sync.flush(); err != nil {
			return nil, publishErr("publishing "+t.Name, err)
		}
		m := *x.prev
		m.unchanged = true
		return &m, nil
	}
	m, err := x.commit(ctx)
	if err != nil {
		return nil, publishErr("publishing "+t.Name, err)
	}
	return m, nil
}

// changed reports whether any index of x has pending edits.
func (x *txn) changed() bool {
	if x.replace != nil {
		return true
	}
	for _, w := range x.work {
		if w.changed() {
			return true
		}
	}
	return false
}

// isRefusal reports whether err is a typed refusal rather than a failure.
func isRefusal(err error) bool {
	return errors.Is(err, ErrBadInput) || errors.Is(err, ErrVersion) || errors.Is(err, ErrNotFound) ||
		errors.Is(err, ErrUninstallable) || errors.Is(err, ErrUnknownDistribution)
}

// describe summarizes an upload for logs and manifests.
func (u *upload) describe() string {
	var parts []string
	for _, s := range u.Sources {
		parts = append(parts, s.Package+"_"+s.Version)
	}
	for i, b := range u.Binaries {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(u.Binaries)-5))
			break
		}
		parts = append(parts, b.Package+"_"+b.Version+"_"+b.Arch)
	}
	return strings.Join(parts, " ")
}

// addUpload edits x to hold every package of u.
func (x *txn) addUpload(u *upload) (*Result, error) {
	res := &Result{Distribution: x.t.Name}
	for i := range u.Sources {
		s := &u.Sources[i]
		dir := poolDir(s.Component, s.Package)
		st := sourceStanza(s, dir)
		old, err := x.putSource(s.Component, s.Package, s.Version, st.appendTo(nil))
		if err != nil {
			return nil, err
		}
		if old != nil {
			res.Replaced = append(res.Replaced, *old)
		}
		res.Added = append(res.Added, PackageRef{Package: s.Package, Version: s.Version, Architecture: "source", Component: s.Component, Source: s.Package, Filename: dir})
	}
	for i := range u.Binaries {
		b := &u.Binaries[i]
		filename := poolDir(b.Component, b.Source) + "/" + b.File.Name
		ref := PackageRef{Package: b.Package, Version: b.Version, Architecture: b.Arch, Component: b.Component, Source: b.Source, Filename: filename}
		old, err := x.putBinary(ref, b.Udeb, binaryStanza(b, filename).appendTo(nil), b.Contents, b.Control.get("Section"))
		if err != nil {
			return nil, err
		}
		if old != nil {
			res.Replaced = append(res.Replaced, *old)
		}
		res.Added = append(res.Added, ref)
	}
	return res, nil
}

// archsOf returns the binary index architectures a package of arch lands in.
func (x *txn) archsOf(arch string) []string {
	if arch == "all" {
		return x.t.Dist.Architectures
	}
	return []string{arch}
}

// putBinary sets the Packages stanza of ref in every index of its
// architecture (all of them for Architecture: all), refusing a lower version
// than the one present, and updates Contents. It returns the replaced
// package, if any.
func (x *txn) putBinary(ref PackageRef, udeb bool, data []byte, contents []string, section string) (*PackageRef, error) {
	var replaced *PackageRef
	for _, a := range x.archsOf(ref.Architecture) {
		w := x.index(binarySpec(ref.Component, a, udeb))
		old, err := w.get(ref.Package)
		if err != nil {
			return nil, err
		}
		if old != nil && bytes.Equal(old, data) {
			continue // the same stanza: the same file, already there
		}
		var oldV string
		if old != nil {
			oldV = fieldOf(old, "Version")
		}
		if err := x.checkNewer(ref.Package, ref.Version, oldV); err != nil {
			return nil, err
		}
		if old != nil {
			o := refOf(old, ref.Component)
			replaced = &o
			if err := x.contentsEdit(ref.Component, a, udeb, x.r.pool.contentsOf(fieldOf(old, "SHA256")), contentsLocation(fieldOf(old, "Section"), ref.Package), false); err != nil {
				return nil, err
			}
		}
		w.put(ref.Package, data)
		if err := x.contentsEdit(ref.Component, a, udeb, contents, contentsLocation(section, ref.Package), true); err != nil {
			return nil, err
		}
	}
	if replaced != nil && replaced.Version == ref.Version && replaced.Filename == ref.Filename {
		replaced = nil // the same package again
	}
	return replaced, nil
}

// putSource sets the Sources stanza of a source package.
func (x *txn) putSource(comp, name, ver string, data []byte) (*PackageRef, error) {
	w := x.index(sourceSpec(comp))
	old, err := w.get(name)
	if err != nil {
		return nil, err
	}
	if old != nil && bytes.Equal(old, data) {
		return nil, nil
	}
	var replaced *PackageRef
	if err := x.checkNewer(name, ver, fieldOf(old, "Version")); err != nil {
		return nil, err
	}
	if old != nil {
		o := refOf(old, comp)
		if o.Version != ver {
			replaced = &o
		}
	}
	w.put(name, data)
	return replaced, nil
}

// checkNewer refuses to replace a version by a lower one, and checks the
// suite's version rule.
func (x *txn) checkNewer(name, newV, oldV string) error {
	if err := x.r.checkVersionRule(x.t, name, newV); err != nil {
		return err
	}
	if oldV == "" || x.allowDowngrade {
		return nil
	}
	nv, err1 := version.Parse(newV)
	ov, err2 := version.Parse(oldV)
	if err1 != nil || err2 != nil {
		return &VersionError{Package: name, Version: newV, Distribution: x.t.Name, Reason: "unparsable version"}
	}
	if version.Compare(nv, ov) < 0 {
		return &VersionError{Package: name, Version: newV, Distribution: x.t.Name, Reason: fmt.Sprintf("lower than %s already there", oldV)}
	}
	return nil
}

// refOf describes a Packages stanza.
func refOf(st []byte, comp string) PackageRef {
	ref := PackageRef{Package: fieldOf(st, "Package"), Version: fieldOf(st, "Version"), Architecture: fieldOf(st, "Architecture"), Component: comp, Filename: fieldOf(st, "Filename")}
	// A Sources stanza has a Directory field (and an Architecture field
	// such as "any" from the .dsc); a Packages stanza never has one.
	if dir := fieldOf(st, "Directory"); dir != "" || ref.Architecture == "" {
		ref.Architecture, ref.Source, ref.Filename = "source", ref.Package, fieldOf(st, "Directory")
		return ref
	}
	ref.Source = ref.Package
	if src := strings.Fields(fieldOf(st, "Source")); len(src) > 0 {
		ref.Source = src[0]
	}
	return ref
}

// fieldOf returns a single-line field of a stanza's bytes.
func fieldOf(st []byte, name string) string {
	s := string(st)
	for len(s) > 0 {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if len(line) > len(name) && line[len(name)] == ':' && strings.EqualFold(line[:len(name)], name) {
			return strings.TrimSpace(line[len(name)+1:])
		}
	}
	return ""
}
