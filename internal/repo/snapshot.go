package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Snapshot is a named, immutable generation of one distribution, kept until
// removed. It is published under snapshots/<name>/ with its own dists/ and
// the shared pool, so apt can use it directly (SnapshotSourceLine).
type Snapshot struct {
	Name         string    `json:"name"`
	Distribution string    `json:"distribution"`
	Generation   int       `json:"generation"`
	Created      time.Time `json:"created"`
	Date         time.Time `json:"date"` // the generation's Release Date
}

var snapshotName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+~-]{0,99}$`)

func (r *Repo) snapshotPath(name string) string {
	return filepath.Join(r.root, stateDir, "snapshots", name+".json")
}

// CreateSnapshot records the current generation of dist as snapshot name.
// Names are letters, digits and ._+~- (no slash); a bad or existing name
// gives a *FileError wrapping ErrBadInput.
func (r *Repo) CreateSnapshot(ctx context.Context, dist, name string) (*Snapshot, error) {
	if !snapshotName.MatchString(name) {
		return nil, &FileError{Path: name, Err: errors.New("snapshot names are letters, digits and ._+~- only")}
	}
	t, err := r.resolve(dist)
	if err != nil {
		return nil, err
	}
	unlock, err := r.lockDist(ctx, t.Name)
	if err != nil {
		return nil, publishErr("snapshotting "+dist, err)
	}
	defer unlock()
	unlockSnap, err := r.lockFile(ctx, "snapshots.lock", false)
	if err != nil {
		return nil, publishErr("snapshotting "+dist, err)
	}
	defer unlockSnap()
	if _, err := os.Stat(r.snapshotPath(name)); err == nil {
		return nil, &FileError{Path: name, Err: errors.New("snapshot already exists")}
	}
	n, _, err := r.current(dist)
	if err != nil {
		return nil, publishErr("snapshotting "+dist, err)
	}
	if n == 0 {
		return nil, &NotFoundError{What: "published generation", Name: dist}
	}
	m, err := r.loadManifest(dist, n)
	if err != nil {
		return nil, publishErr("snapshotting "+dist, err)
	}
	s := &Snapshot{Name: name, Distribution: dist, Generation: n, Created: r.now().UTC().Truncate(time.Second), Date: m.Date}
	if err := r.publishSnapshot(s); err != nil {
		return nil, publishErr("snapshotting "+dist, err)
	}
	r.log.Info("snapshot created", "snapshot", name, "distribution", dist, "generation", n)
	return s, nil
}

// publishSnapshot writes the snapshot record (the commit point) and then
// its published view snapshots/<name>/{dists/<dist>,pool}.
func (r *Repo) publishSnapshot(s *Snapshot) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.snapshotPath(s.Name)), 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(r.snapshotPath(s.Name), data); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(r.snapshotPath(s.Name))); err != nil {
		return err
	}
	return r.linkSnapshot(s)
}

// linkSnapshot (re)creates the published view of s.
func (r *Repo) linkSnapshot(s *Snapshot) error {
	base := filepath.Join(r.root, "snapshots", s.Name)
	if err := os.MkdirAll(filepath.Join(base, "dists"), 0o755); err != nil {
		return err
	}
	target := filepath.Join("..", "..", "..", stateDir, "generations", s.Distribution, strconv.Itoa(s.Generation))
	for _, l := range []struct{ target, link string }{
		{target, filepath.Join(base, "dists", s.Distribution)},
		{filepath.Join("..", "..", "pool"), filepath.Join(base, "pool")},
	} {
		if cur, err := os.Readlink(l.link); err == nil && cur == l.target {
			continue
		}
		os.Remove(l.link)
		if err := os.Symlink(l.target, l.link); err != nil {
			return err
		}
	}
	return nil
}

// Snapshots lists every snapshot, by name.
func (r *Repo) Snapshots(ctx context.Context) ([]Snapshot, error) {
	ents, err := os.ReadDir(filepath.Join(r.root, stateDir, "snapshots"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		s, err := r.snapshot(name)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (r *Repo) snapshot(name string) (*Snapshot, error) {
	if !snapshotName.MatchString(name) {
		return nil, &NotFoundError{What: "snapshot", Name: name}
	}
	data, err := os.ReadFile(r.snapshotPath(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, &NotFoundError{What: "snapshot", Name: name}
	}
	if err != nil {
		return nil, err
	}
	var s Snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("reading snapshot %s: %w", name, err)
	}
	return &s, nil
}

// ShowSnapshot returns a snapshot and its packages.
func (r *Repo) ShowSnapshot(ctx context.Context, name string) (*Snapshot, []PackageRef, error) {
	s, err := r.snapshot(name)
	if err != nil {
		return nil, nil, err
	}
	st, err := r.stateAt(s.Distribution, s.Generation)
	if err != nil {
		return nil, nil, err
	}
	refs, err := st.list()
	return s, refs, err
}

// stateAt is a read-only view of generation n of dist.
func (r *Repo) stateAt(dist string, n int) (*state, error) {
	t, err := r.resolve(dist)
	if err != nil {
		return nil, err
	}
	m, err := r.loadManifest(dist, n)
	if err != nil {
		return nil, err
	}
	return &state{r: r, t: t, m: m}, nil
}

// RemoveSnapshot deletes a snapshot; gc then frees what only it kept.
func (r *Repo) RemoveSnapshot(ctx context.Context, name string) error {
	if _, err := r.snapshot(name); err != nil {
		return err
	}
	unlock, err := r.lockFile(ctx, "snapshots.lock", false)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.RemoveAll(filepath.Join(r.root, "snapshots", name)); err != nil {
		return err
	}
	if err := os.Remove(r.snapshotPath(name)); err != nil {
		return err
	}
	return syncDir(filepath.Dir(r.snapshotPath(name)))
}

// SnapshotSourceLine is AptSourceLine for a snapshot.
func (r *Repo) SnapshotSourceLine(name string) (string, error) {
	s, err := r.snapshot(name)
	if err != nil {
		return "", err
	}
	return r.AptSourceLineURL("file:"+filepath.Join(r.root, "snapshots", name), s.Distribution), nil
}

// VersionChange is a package whose version differs between two states.
type VersionChange struct {
	Package      string `json:"package"`
	Architecture string `json:"architecture"`
	From         string `json:"from"`
	To           string `json:"to"`
}

// Diff is what changed from state A to state B.
type Diff struct {
	A, B    string
	Added   []PackageRef    `json:"added,omitempty"`
	Removed []PackageRef    `json:"removed,omitempty"`
	Changed []VersionChange `json:"changed,omitempty"`
}

// DiffSnapshots compares two snapshots or distributions (each argument is a
// snapshot name, or a distribution name for its current generation).
func (r *Repo) DiffSnapshots(ctx context.Context, a, b string) (*Diff, error) {
	la, err := r.listOf(ctx, a)
	if err != nil {
		return nil, err
	}
	lb, err := r.listOf(ctx, b)
	if err != nil {
		return nil, err
	}
	key := func(p PackageRef) string { return p.Package + "/" + p.Architecture }
	ma := map[string]PackageRef{}
	for _, p := range la {
		ma[key(p)] = p
	}
	d := &Diff{A: a, B: b}
	seen := map[string]bool{}
	for _, p := range lb {
		seen[key(p)] = true
		old, ok := ma[key(p)]
		switch {
		case !ok:
			d.Added = append(d.Added, p)
		case old.Version != p.Version:
			d.Changed = append(d.Changed, VersionChange{Package: p.Package, Architecture: p.Architecture, From: old.Version, To: p.Version})
		}
	}
	for _, p := range la {
		if !seen[key(p)] {
			d.Removed = append(d.Removed, p)
		}
	}
	return d, nil
}

func (r *Repo) listOf(ctx context.Context, name string) ([]PackageRef, error) {
	if _, err := r.resolve(name); err == nil {
		return r.List(ctx, name)
	}
	_, refs, err := r.ShowSnapshot(ctx, name)
	return refs, err
}
