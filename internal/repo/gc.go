package repo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// GCReport says what gc freed.
type GCReport struct {
	Generations []string `json:"generations"` // "<dist>/<n>" deleted
	PoolFiles   int      `json:"pool_files"`
	Blobs       int      `json:"blobs"`
	Chunks      int      `json:"chunks"`
	ByHash      int      `json:"by_hash"` // by-hash links no kept generation lists
	Bytes       int64    `json:"bytes"`
}

// GC deletes generations that are neither current, nor among the rollbacks
// the layout keeps, nor snapshotted, nor superseded less than the by-hash
// grace period ago; then pool files, blobs and index chunks that no
// remaining generation refers to. Publishes of every distribution may run
// meanwhile; the pool sweep waits for in-flight adds (pool lock).
func (r *Repo) GC(ctx context.Context) (*GCReport, error) {
	rep := &GCReport{}
	for _, d := range r.Distributions() {
		if err := r.gcDist(ctx, d, rep); err != nil {
			return rep, fmt.Errorf("gc %s: %w", d, err)
		}
	}
	if err := r.gcPool(ctx, rep); err != nil {
		return rep, fmt.Errorf("gc pool: %w", err)
	}
	r.log.Info("gc done", "generations", len(rep.Generations), "pool_files", rep.PoolFiles, "blobs", rep.Blobs, "chunks", rep.Chunks, "bytes", rep.Bytes)
	return rep, nil
}

// gcDist deletes the generations of dist that nothing keeps.
func (r *Repo) gcDist(ctx context.Context, dist string, rep *GCReport) error {
	t, err := r.resolve(dist)
	if err != nil {
		return err
	}
	unlock, err := r.lockDist(ctx, dist)
	if err != nil {
		return err
	}
	defer unlock()
	// Snapshots are read under the lock: CreateSnapshot takes it too.
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return err
	}
	pinned := map[string]bool{}
	for _, s := range snaps {
		pinned[s.Distribution+"/"+strconv.Itoa(s.Generation)] = true
	}
	cur, _, err := r.current(dist)
	if err != nil || cur == 0 {
		return err
	}
	gens, err := r.generations(dist)
	if err != nil {
		return err
	}
	keep := map[int]bool{cur: true}
	rbs, err := r.rollbacks(t)
	if err != nil {
		return err
	}
	for _, rb := range rbs {
		keep[rb.Generation] = true
	}
	now := r.now()
	for i, n := range gens {
		if pinned[dist+"/"+strconv.Itoa(n)] {
			keep[n] = true
		}
		if i+1 < len(gens) {
			next, err := r.loadManifest(dist, gens[i+1])
			if err == nil && now.Sub(next.Date) < r.grace {
				keep[n] = true // clients may still use its indexes
			}
		}
	}
	var del []string
	rel := func(p string) string { s, _ := filepath.Rel(r.root, p); return filepath.ToSlash(s) }
	ents, err := os.ReadDir(r.generationsDir(dist))
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		num, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".ckpt"))
		switch {
		case err != nil && strings.HasPrefix(name, ".tmp-"):
			del = append(del, rel(filepath.Join(r.generationsDir(dist), name)))
		case err != nil || keep[num] || num > cur:
		default:
			del = append(del, rel(filepath.Join(r.generationsDir(dist), name)))
			if !strings.Contains(name, ".") {
				rep.Generations = append(rep.Generations, dist+"/"+name)
			}
		}
	}
	if len(del) == 0 {
		return nil
	}
	// Manifests first: a generation without manifest is garbage even if the
	// deletion is interrupted before its directory goes.
	sort.Slice(del, func(i, j int) bool { return strings.HasSuffix(del[i], ".json") && !strings.HasSuffix(del[j], ".json") })
	if err := r.journalBegin(journalEntry{Op: "gc", Distribution: dist, Delete: del}); err != nil {
		return err
	}
	r.crashPoint("gc-dist")
	if err := r.deletePaths(del); err != nil {
		return err
	}
	r.journalEnd(dist)
	return nil
}

// references collects what every remaining generation refers to: pool
// files (with their SHA256) and index chunks.
func (r *Repo) references() (pool map[string]string, chunks map[string]bool, byHash map[string]bool, err error) {
	pool, chunks, byHash = map[string]string{}, map[string]bool{}, map[string]bool{}
	for _, d := range r.Distributions() {
		gens, err := r.generations(d)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, n := range gens {
			m, err := r.loadManifest(d, n)
			if err != nil {
				return nil, nil, nil, err
			}
			for bh := range byHashPaths(m.Files, m.Absent) {
				byHash[d+"/"+bh] = true
			}
			fresh := map[string][]chunkRef{}
			for k, cs := range m.Indexes {
				for _, c := range cs {
					if !chunks[c.SHA256] {
						chunks[c.SHA256] = true
						fresh[k] = append(fresh[k], c)
					}
				}
			}
			err = eachStanza(r, fresh, func(s indexSpec, data []byte) error {
				addStanzaFiles(pool, data)
				return nil
			})
			if err != nil {
				return nil, nil, nil, err
			}
		}
	}
	return pool, chunks, byHash, nil
}

// addStanzaFiles adds the pool files a Packages or Sources stanza names.
func addStanzaFiles(pool map[string]string, data []byte) {
	if fn := fieldOf(data, "Filename"); fn != "" {
		pool[fn] = fieldOf(data, "SHA256")
		return
	}
	dir := fieldOf(data, "Directory")
	for _, f := range stanzaFileList(data, "Checksums-Sha256") {
		pool[dir+"/"+f.Name] = f.Sum
	}
}

// stanzaFileList parses a multi-line file list field of raw stanza bytes.
func stanzaFileList(data []byte, name string) []listedFile {
	s := string(data)
	i := strings.Index(s, "\n"+name+":")
	if i < 0 {
		return nil
	}
	rest := s[i+len(name)+2:]
	var lines []string
	for _, l := range strings.Split(rest, "\n")[1:] {
		if !strings.HasPrefix(l, " ") {
			break
		}
		lines = append(lines, l)
	}
	out, _ := parseFileList(strings.Join(lines, "\n"))
	return out
}

// gcPool deletes unreferenced pool files, blobs and chunks under the
// exclusive pool lock.
func (r *Repo) gcPool(ctx context.Context, rep *GCReport) error {
	unlock, err := r.lockFile(ctx, "pool.lock", false)
	if err != nil {
		return err
	}
	defer unlock()
	if err := r.recoverPoolGC(); err != nil {
		return err
	}
	refs, chunks, byHash, err := r.references()
	if err != nil {
		return err
	}
	liveDirs := map[string]bool{}
	liveBlobs := map[string]bool{}
	for p, sha := range refs {
		liveDirs[filepath.Dir(p)] = true
		liveBlobs[sha] = true
	}
	var del []string
	cutoff := r.now().Add(-time.Hour)
	err = filepath.WalkDir(filepath.Join(r.root, "pool"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(r.root, p)
		rel = filepath.ToSlash(rel)
		if _, ok := refs[rel]; ok {
			return nil
		}
		ext := filepath.Ext(rel)
		if (ext == ".changes" || ext == ".buildinfo") && liveDirs[filepath.Dir(rel)] {
			return nil
		}
		if fi, err := d.Info(); err == nil && strings.Contains(rel, ".tmp-link") && fi.ModTime().After(cutoff) {
			return nil
		}
		del = append(del, rel)
		rep.PoolFiles++
		return nil
	})
	if err != nil {
		return err
	}
	if err := r.journaledDelete(del, "gc-pool"); err != nil {
		return err
	}
	// Blobs still linked from the pool (referenced, or kept .changes and
	// .buildinfo) have more than one link and stay.
	del = nil
	store := filepath.Join(r.root, stateDir, "store", "sha256")
	err = filepath.WalkDir(store, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		fi, ierr := d.Info()
		if ierr != nil {
			return nil
		}
		if name == ".fanout" {
			return nil
		}
		if strings.HasPrefix(name, ".") {
			if fi.ModTime().Before(cutoff) {
				del = append(del, relTo(r.root, p))
			}
			return nil
		}
		if liveBlobs[name] || linkCount(fi) > 1 {
			return nil
		}
		del = append(del, relTo(r.root, p), relTo(r.root, r.pool.contentsPath(name)))
		rep.Blobs++
		rep.Bytes += fi.Size()
		return nil
	})
	if err != nil {
		return err
	}
	err = filepath.WalkDir(r.chunks.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		sha := strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".xz")
		if name == ".fanout" {
			return nil
		}
		if strings.HasPrefix(name, ".") || !chunks[sha] {
			del = append(del, relTo(r.root, p))
			if strings.HasSuffix(name, ".xz") {
				rep.Chunks++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	bhRoot := filepath.Join(r.root, stateDir, "byhash")
	err = filepath.WalkDir(bhRoot, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		if !byHash[relTo(bhRoot, p)] {
			del = append(del, relTo(r.root, p))
			rep.ByHash++
		}
		return nil
	})
	if err != nil {
		return err
	}
	return r.journaledDelete(del, "gc-store")
}

// journaledDelete records paths in the gc journal entry, deletes them, and
// drops the entry.
func (r *Repo) journaledDelete(del []string, point string) error {
	if len(del) == 0 {
		return nil
	}
	if err := r.journalBegin(journalEntry{Op: "gc", Delete: del}); err != nil {
		return err
	}
	r.crashPoint(point)
	if err := r.deletePaths(del); err != nil {
		return err
	}
	r.journalEnd("gc")
	return nil
}

// recoverPoolGC drops the entry of an interrupted pool sweep. Its deletion
// list is not replayed: publishes since then may refer again to a listed
// file (an index or package that came back), and leaving unreferenced files
// is harmless. The sweep that follows recomputes what is unreferenced now,
// which completes the interrupted one.
func (r *Repo) recoverPoolGC() error {
	if _, err := os.Stat(r.journalPath("gc")); errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	r.log.Info("interrupted pool gc found; sweeping again")
	r.journalEnd("gc")
	return nil
}

func relTo(root, p string) string {
	s, _ := filepath.Rel(root, p)
	return filepath.ToSlash(s)
}
