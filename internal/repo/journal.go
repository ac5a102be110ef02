package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// The intent journal makes every change crash-safe. Before a change writes
// anything that a reader could reach, it records its intent in
// .packyard/journal/<name>.json (synced); it removes the entry when done.
// The next command that takes the same lock finds a leftover entry and
// completes or undoes the change (recover). Publishing is already atomic at
// the symlink swap, so undoing means deleting the unswapped generation, and
// completing means nothing more than dropping the entry. A distribution's
// gc entry names generations still to delete (never the current one, and
// numbers are not reused), and recovery deletes them; an interrupted pool
// sweep is recomputed instead of replayed (see recoverPoolGC).

// journalEntry is one recorded intent.
type journalEntry struct {
	Op           string    `json:"op"` // "publish", "gc"
	Distribution string    `json:"distribution,omitempty"`
	Generation   int       `json:"generation,omitempty"`
	Delete       []string  `json:"delete,omitempty"` // paths relative to the root (gc)
	Started      time.Time `json:"started"`
	PID          int       `json:"pid"`
}

func (r *Repo) journalPath(name string) string {
	return filepath.Join(r.root, stateDir, "journal", name+".json")
}

func (r *Repo) journalBegin(e journalEntry) error {
	name := e.Distribution
	if name == "" {
		name = e.Op
	}
	e.Started = time.Now().UTC()
	e.PID = os.Getpid()
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.journalPath(name)), 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(r.journalPath(name), data); err != nil {
		return fmt.Errorf("writing journal: %w", err)
	}
	return syncDir(filepath.Dir(r.journalPath(name)))
}

// journalBeginDeferred is journalBegin with the fsync left to ss, for
// changes whose first visible effect comes after ss is flushed.
func (r *Repo) journalBeginDeferred(e journalEntry, ss *syncSet) error {
	e.Started = time.Now().UTC()
	e.PID = os.Getpid()
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := writeFileDeferred(r.journalPath(e.Distribution), data, ss); err != nil {
		return fmt.Errorf("writing journal: %w", err)
	}
	return nil
}

func (r *Repo) journalEnd(name string) {
	if err := os.Remove(r.journalPath(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		r.log.Warn("removing journal entry", "name", name, "err", err)
	}
}

// recoverDist completes or undoes an interrupted change of dist. The caller
// holds dist's lock. Generations numbered above the current one can only be
// leftovers of an interrupted publish (the current generation is always the
// newest), so they are deleted.
func (r *Repo) recoverDist(dist string) error {
	data, err := os.ReadFile(r.journalPath(dist))
	hasEntry := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	cur, _, err := r.current(dist)
	if err != nil {
		return err
	}
	if hasEntry {
		var e journalEntry
		if err := json.Unmarshal(data, &e); err != nil {
			r.log.Warn("unreadable journal entry; recovering from the published state", "distribution", dist, "err", err)
		}
		switch {
		case e.Op == "gc":
			if err := r.deletePaths(e.Delete); err != nil {
				return err
			}
			r.log.Info("completed interrupted gc", "distribution", dist)
		case e.Generation == cur:
			r.log.Info("completed interrupted publish", "distribution", dist, "generation", cur)
		default:
			r.log.Info("undid interrupted publish", "distribution", dist, "generation", e.Generation, "current", cur)
		}
	}
	if err := r.dropAbove(dist, cur); err != nil {
		return err
	}
	if hasEntry {
		r.journalEnd(dist)
	}
	return nil
}

// dropAbove deletes generation directories and manifests numbered above cur.
func (r *Repo) dropAbove(dist string, cur int) error {
	ents, err := os.ReadDir(r.generationsDir(dist))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		var n int
		name := e.Name()
		if _, err := fmt.Sscanf(name, "%d", &n); err != nil || n <= cur {
			continue
		}
		if err := os.RemoveAll(filepath.Join(r.generationsDir(dist), name)); err != nil {
			return err
		}
	}
	return nil
}

// deletePaths removes root-relative paths, ignoring those already gone.
func (r *Repo) deletePaths(paths []string) error {
	for _, p := range paths {
		if err := os.RemoveAll(filepath.Join(r.root, filepath.FromSlash(p))); err != nil {
			return err
		}
	}
	return nil
}

// lockDist takes dist's publish lock and recovers any interrupted change.
// Different distributions have different locks, so they publish in parallel.
func (r *Repo) lockDist(ctx context.Context, dist string) (func(), error) {
	unlock, err := r.lockFile(ctx, dist+".lock", false)
	if err != nil {
		return nil, err
	}
	if err := r.recoverDist(dist); err != nil {
		unlock()
		return nil, fmt.Errorf("recovering %s: %w", dist, err)
	}
	return unlock, nil
}

// lockFile takes .packyard/locks/<name>, shared or exclusive, waiting for ctx.
func (r *Repo) lockFile(ctx context.Context, name string, shared bool) (func(), error) {
	l := flock.New(filepath.Join(r.root, stateDir, "locks", name))
	try := l.TryLockContext
	if shared {
		try = l.TryRLockContext
	}
	ok, err := try(ctx, 10*time.Millisecond)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", name, err)
	}
	if !ok {
		return nil, fmt.Errorf("locking %s: %w", name, context.Cause(ctx))
	}
	return func() { l.Unlock() }, nil
}

// crashPoint lets crash tests stop the process at named points.
func (r *Repo) crashPoint(name string) {
	if r.hook != nil {
		r.hook(name)
	}
}
