package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// generationsDir is where the generations of dist live.
func (r *Repo) generationsDir(dist string) string {
	return filepath.Join(r.root, stateDir, "generations", dist)
}

// current returns the number and directory of the published generation of
// dist, or 0 and "" when it was never published.
func (r *Repo) current(dist string) (int, string, error) {
	link := filepath.Join(r.root, "dists", dist)
	t, err := os.Readlink(link)
	if errors.Is(err, os.ErrNotExist) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	n, err := strconv.Atoi(filepath.Base(t))
	if err != nil {
		return 0, "", fmt.Errorf("dists/%s points to %s, not a generation", dist, t)
	}
	return n, r.genDir(dist, n), nil
}

// txn is one change of one distribution: indexes are edited in memory and
// published as a new generation by commit. The caller holds the
// distribution's lock.
type txn struct {
	r      *Repo
	t      *target
	prev   *manifest // nil before the first publish
	work   map[string]*workIndex
	reason string
	// date, when set, is the Date of the new generation (else now).
	date time.Time
	// allowDowngrade lets lower versions replace higher ones.
	allowDowngrade bool
	// replace, when set, is the complete new set of indexes (rollback).
	replace map[string][]chunkRef
	// sync collects what must be durable before the swap.
	sync *syncSet
	// skipUnchanged makes changeLocked publish nothing when no index
	// changed (an add of packages already there).
	skipUnchanged bool
	// prevCks caches the previous generation's checkpoints.
	prevCks     map[string][]checkpoint
	prevCksOnce sync.Once
}

// prevCheckpoints returns the previous generation's checkpoints (none when
// missing or unreadable: publishing then starts each file from scratch).
func (x *txn) prevCheckpoints() map[string][]checkpoint {
	x.prevCksOnce.Do(func() {
		if x.prev != nil {
			x.prevCks = x.r.loadCheckpoints(x.t.Name, x.prev.Generation)
		}
	})
	return x.prevCks
}

func (r *Repo) begin(t *target, reason string) (*txn, error) {
	n, _, err := r.current(t.Name)
	if err != nil {
		return nil, err
	}
	x := &txn{r: r, t: t, work: map[string]*workIndex{}, reason: reason, sync: newSyncSet()}
	if n > 0 {
		if x.prev, err = r.loadManifest(t.Name, n); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// index returns the working copy of an index.
func (x *txn) index(s indexSpec) *workIndex {
	if w, ok := x.work[s.Key()]; ok {
		return w
	}
	var chunks []chunkRef
	if x.prev != nil {
		chunks = x.prev.Indexes[s.Key()]
	}
	w := newWorkIndex(s.Kind, x.r.chunks, x.r.chunkTarget, chunks)
	w.sync = x.sync
	x.work[s.Key()] = w
	return w
}

// specs lists every index the distribution publishes: per component the
// Packages and Contents of each architecture and Sources, plus
// debian-installer indexes (Packages, Contents-udeb-<arch>) when they have
// content.
func (x *txn) specs() []indexSpec {
	var out []indexSpec
	seen := map[string]bool{}
	add := func(s indexSpec) {
		if !seen[s.Key()] {
			seen[s.Key()] = true
			out = append(out, s)
		}
	}
	for _, c := range x.t.Dist.Components {
		for _, a := range x.t.Dist.Architectures {
			add(binarySpec(c, a, false))
			if x.r.contents {
				add(contentsSpec(c, a, false))
			}
		}
		add(sourceSpec(c))
	}
	var extra []string
	if x.prev != nil {
		for k := range x.prev.Indexes {
			extra = append(extra, k)
		}
	}
	for k := range x.replace {
		extra = append(extra, k)
	}
	for k := range x.work {
		extra = append(extra, k)
	}
	sort.Strings(extra)
	for _, k := range extra {
		if strings.Contains(k, "/debian-installer/") || strings.Contains(k, "/Contents-udeb-") {
			add(specFromKey(k))
		}
	}
	return out
}

// commit publishes the edited state as a new generation and returns its
// manifest. Everything the new Release names is written and synced before
// dists/<dist> is switched to it.
func (x *txn) commit(ctx context.Context) (*manifest, error) {
	r, t := x.r, x.t
	if r.key == nil {
		return nil, errors.New("no signing key")
	}
	m := &manifest{Distribution: t.Name, Reason: x.reason, Indexes: map[string][]chunkRef{}, Files: map[string]checksums{}, Absent: map[string]bool{}}
	changed := map[string]bool{}
	if x.prev != nil {
		m.Parent = x.prev.Generation
		for k, v := range x.prev.Indexes {
			m.Indexes[k] = v
		}
	}
	if x.replace != nil {
		for k := range m.Indexes {
			changed[k] = true
		}
		m.Indexes = map[string][]chunkRef{}
		for k, v := range x.replace {
			m.Indexes[k] = v
			changed[k] = true
		}
	}
	start := time.Now()
	defer func() { r.log.Debug("commit", "distribution", t.Name, "duration", time.Since(start)) }()
	var mu sync.Mutex
	var firstErr error
	var cwg sync.WaitGroup
	for k, w := range x.work {
		if !w.changed() {
			continue
		}
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			chunks, err := w.commit()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("storing index %s: %w", k, err)
				}
				return
			}
			m.Indexes[k] = chunks
			changed[k] = true
		}()
	}
	cwg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	for k, cs := range m.Indexes {
		m.Indexes[k] = x.r.chunks.fillXZ(cs)
	}
	m.Date = x.date
	if m.Date.IsZero() {
		m.Date = r.now().UTC().Truncate(time.Second)
	}
	n, dir, err := r.newGeneration(t.Name, m.Parent)
	if err != nil {
		return nil, err
	}
	m.Generation = n
	if err := r.journalBeginDeferred(journalEntry{Op: "publish", Distribution: t.Name, Generation: n}, x.sync); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
			os.Remove(r.manifestPath(t.Name, n))
			r.journalEnd(t.Name)
		}
	}()
	// Index families are written in parallel: each is read, compressed
	// forms concatenated, and hashed independently.
	specs := x.specs()
	cks := map[string][]checkpoint{}
	results := make([][]fileResult, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ctx.Err(); err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = x.writeIndex(dir, s, m.Indexes[s.Key()], changed[s.Key()])
		}()
	}
	wg.Wait()
	for i, s := range specs {
		if errs[i] != nil {
			return nil, fmt.Errorf("writing %s: %w", s.Key(), errs[i])
		}
		for _, f := range results[i] {
			m.Files[f.rel] = f.sum
			if f.absent {
				m.Absent[f.rel] = true
			}
			if len(f.checkpoints) > 0 {
				cks[f.rel] = f.checkpoints
			}
		}
	}
	if err := x.writeByHash(dir, m); err != nil {
		return nil, fmt.Errorf("writing by-hash files: %w", err)
	}
	if err := r.writeRelease(dir, t, m.Date, m.Files, x.sync); err != nil {
		return nil, fmt.Errorf("writing Release: %w", err)
	}
	if err := r.saveManifest(m, x.sync); err != nil {
		return nil, fmt.Errorf("writing manifest: %w", err)
	}
	if err := r.saveCheckpoints(t.Name, n, cks, x.sync); err != nil {
		return nil, fmt.Errorf("writing checkpoints: %w", err)
	}
	if err := syncTree(dir, x.sync); err != nil {
		return nil, err
	}
	r.log.Debug("generation written", "distribution", t.Name, "duration", time.Since(start))
	if err := x.sync.flush(); err != nil {
		return nil, fmt.Errorf("syncing generation: %w", err)
	}
	r.log.Debug("generation synced", "distribution", t.Name, "duration", time.Since(start))
	r.crashPoint("before-swap")
	if err := r.swap(t.Name, n); err != nil {
		return nil, fmt.Errorf("switching %s: %w", t.Name, err)
	}
	ok = true
	r.crashPoint("after-swap")
	r.journalEnd(t.Name)
	r.log.Info("published", "distribution", t.Name, "generation", n, "reason", x.reason, "changed_indexes", len(changed))
	return m, nil
}

// newGeneration creates the next free generation directory of dist.
func (r *Repo) newGeneration(dist string, after int) (int, string, error) {
	base := r.generationsDir(dist)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return 0, "", err
	}
	all, err := r.generations(dist)
	if err != nil {
		return 0, "", err
	}
	if len(all) > 0 && all[len(all)-1] > after {
		after = all[len(all)-1]
	}
	for n := after + 1; ; n++ {
		d := filepath.Join(base, strconv.Itoa(n))
		err := os.Mkdir(d, 0o755)
		if err == nil {
			return n, d, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return 0, "", err
		}
	}
}
