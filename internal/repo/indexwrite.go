package repo

// This file writes a generation's index files (concatenated from chunks,
// resumed from the previous generation's checkpoints) and their by-hash links.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"
)

// indexFiles are the file names of an index family, in Release order.
func indexFiles(s indexSpec) []string {
	return []string{s.Base, s.Base + ".gz", s.Base + ".xz"}
}

// fileResult is one file a generation's Release lists.
type fileResult struct {
	rel         string
	sum         checksums
	absent      bool
	checkpoints []checkpoint
}

// writeIndex puts the files of index s into the generation dir: linked from
// the previous generation when unchanged, else concatenated from chunks
// (the three forms in parallel).
func (x *txn) writeIndex(dir string, s indexSpec, chunks []chunkRef, changed bool) ([]fileResult, error) {
	out := filepath.Join(dir, filepath.FromSlash(s.Dir))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	var res []fileResult
	if !changed && x.prev != nil {
		if _, ok := x.prev.Files[s.Key()+".xz"]; ok {
			prevDir := x.r.genDir(x.t.Name, x.prev.Generation)
			for _, nm := range indexFiles(s) {
				rel := s.Dir + "/" + nm
				sum, ok := x.prev.Files[rel]
				if !ok {
					continue
				}
				res = append(res, fileResult{rel: rel, sum: sum, absent: x.prev.Absent[rel], checkpoints: x.prevCheckpoints()[rel]})
				if x.prev.Absent[rel] {
					continue
				}
				if err := os.Link(filepath.Join(prevDir, filepath.FromSlash(rel)), filepath.Join(out, nm)); err != nil {
					return nil, err
				}
			}
			return res, nil
		}
	}
	var size int64
	for _, c := range chunks {
		size += c.Size
	}
	exts := []string{"", ".gz", ".xz"}
	res = make([]fileResult, len(exts))
	errs := make([]error, len(exts))
	var wg sync.WaitGroup
	for i, ext := range exts {
		rel := s.Dir + "/" + s.Base + ext
		p := filepath.Join(out, s.Base+ext)
		if ext == "" && size > x.r.plainLimit {
			// Release still lists the uncompressed index: apt looks
			// targets up by that name and checks what it decompressed.
			p = ""
		}
		var prev *prevFile
		if x.prev != nil {
			if _, ok := x.prev.Files[rel]; ok {
				prev = &prevFile{chunks: x.prev.Indexes[s.Key()], checkpoints: x.prevCheckpoints()[rel]}
				if !x.prev.Absent[rel] {
					prev.path = filepath.Join(x.r.genDir(x.t.Name, x.prev.Generation), filepath.FromSlash(rel))
				}
			}
			if x.replace != nil {
				prev = nil
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sum, cks, err := x.concat(p, chunks, ext, prev)
			res[i], errs[i] = fileResult{rel: rel, sum: sum, absent: p == "", checkpoints: cks}, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// checkpointEvery is how many chunks apart concat records checkpoints.
const checkpointEvery = 8

// checkpoint is the state of writing one index file after a whole number
// of chunks: the bytes written so far and the hash states. A later
// generation whose chunks start the same way copies that prefix from this
// generation's file (copy_file_range, no reading in user space), restores
// the hash states, and only writes and hashes the rest.
type checkpoint struct {
	Chunks int      `json:"chunks"`
	Offset int64    `json:"offset"`
	Hashes [][]byte `json:"hashes"` // marshaled md5, sha1, sha256, sha512 states (unused ones empty)
}

// prevFile describes the same index file in the previous generation.
type prevFile struct {
	path        string // "" when it was not published
	chunks      []chunkRef
	checkpoints []checkpoint
}

// concat writes the ext form ("", ".gz", ".xz") of an index made of chunks
// to p and returns its checksums and checkpoints; with p empty it only
// computes the checksums. It resumes from prev's last checkpoint within the
// chunks both share.
func (x *txn) concat(p string, chunks []chunkRef, ext string, prev *prevFile) (checksums, []checkpoint, error) {
	h := newIndexHasher(p == "")
	start, cks := 0, []checkpoint(nil)
	var ck *checkpoint
	if prev != nil && len(chunks) > 0 {
		ck = resumePoint(chunks, prev, p != "")
	}
	var w io.Writer = h
	var f *os.File
	if p != "" {
		var err error
		f, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return checksums{}, nil, err
		}
		defer f.Close()
		w = io.MultiWriter(f, h)
	}
	if ck != nil {
		if err := h.restore(ck.Hashes, ck.Offset); err != nil {
			ck = nil
		} else if f != nil {
			x.r.log.Debug("resuming index file", "file", p, "chunks", ck.Chunks, "of", len(chunks), "offset", ck.Offset)
			if err := copyPrefix(f, prev.path, ck.Offset); err != nil {
				return checksums{}, nil, err
			}
		}
	}
	if ck == nil {
		h = newIndexHasher(p == "")
		if f != nil {
			w = io.MultiWriter(f, h)
		} else {
			w = h
		}
	} else {
		start = ck.Chunks
		for _, c := range prev.checkpoints {
			if c.Chunks <= start {
				cks = append(cks, c)
			}
		}
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	var xa *xzAssembler
	if ext == ".xz" {
		if start > 0 {
			xa = resumeXZAssembler(bw, xzCheck, chunks[:start])
		} else {
			var err error
			if xa, err = newXZAssembler(bw, xzCheck); err != nil {
				return checksums{}, nil, err
			}
		}
	}
	if ext == ".gz" && len(chunks) == 0 {
		gz, err := gzCompress(nil)
		if err != nil {
			return checksums{}, nil, err
		}
		bw.Write(gz)
	}
	var buf []byte
	for i := start; i < len(chunks); i++ {
		c := chunks[i]
		if i > start && i%checkpointEvery == 0 {
			if err := bw.Flush(); err != nil {
				return checksums{}, nil, err
			}
			if st, err := h.states(); err == nil {
				cks = append(cks, checkpoint{Chunks: i, Offset: h.size, Hashes: st})
			}
		}
		size := int64(-1) // unknown: the .gz member's, or one not recorded
		if ext == "" && c.Size > 0 {
			size = c.Size
		} else if ext == ".xz" && c.XZ > 0 {
			size = c.XZ
		}
		data, err := readInto(buf, x.r.chunks.path(c.SHA256, ext), size)
		if err != nil {
			return checksums{}, nil, fmt.Errorf("reading index chunk: %w", err)
		}
		buf = data
		if xa != nil {
			err = xa.block(data, c.Size)
		} else {
			_, err = bw.Write(data)
		}
		if err != nil {
			return checksums{}, nil, err
		}
	}
	if xa != nil {
		if err := xa.close(); err != nil {
			return checksums{}, nil, err
		}
	}
	if err := bw.Flush(); err != nil {
		return checksums{}, nil, err
	}
	if f != nil {
		startWriteback(f)
		if err := f.Close(); err != nil {
			return checksums{}, nil, err
		}
		x.sync.add(p)
	}
	return h.sums(), cks, nil
}

// resumePoint returns the last checkpoint of prev within the chunks that
// chunks shares with it, or nil.
func resumePoint(chunks []chunkRef, prev *prevFile, needFile bool) *checkpoint {
	if needFile && prev.path == "" {
		return nil
	}
	common := 0
	for common < len(chunks) && common < len(prev.chunks) && chunks[common].SHA256 == prev.chunks[common].SHA256 {
		common++
	}
	var best *checkpoint
	for i := range prev.checkpoints {
		c := &prev.checkpoints[i]
		if c.Chunks <= common && (best == nil || c.Chunks > best.Chunks) {
			best = c
		}
	}
	if best == nil {
		return nil
	}
	for _, c := range chunks[:best.Chunks] {
		if c.XZ == 0 {
			return nil
		}
	}
	return best
}

// copyPrefix copies the first n bytes of the file at src to dst (in the
// kernel: io.Copy between files uses copy_file_range).
func copyPrefix(dst *os.File, src string, n int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	got, err := io.Copy(dst, io.LimitReader(in, n))
	if err == nil && got != n {
		err = fmt.Errorf("%s is shorter than its checkpoint", src)
	}
	return err
}

// byHashRoot is the shared by-hash store of dist. Every generation's
// <dir>/by-hash is a symlink into it, so a by-hash file, once published,
// stays reachable through every later generation until gc finds that no
// kept generation (current, rollback, snapshot, or superseded less than the
// grace period ago) lists it. Publishing adds only the new files' links.
func (r *Repo) byHashRoot(dist string) string {
	return filepath.Join(r.root, stateDir, "byhash", dist)
}

// writeByHash links every Release file under its by-hash names in the
// shared store and points each index directory's by-hash at it.
func (x *txn) writeByHash(dir string, m *manifest) error {
	store := x.r.byHashRoot(x.t.Name)
	dirs := map[string]bool{}
	for bh, file := range byHashPaths(m.Files, m.Absent) {
		dst := filepath.Join(store, filepath.FromSlash(bh))
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		if err := linkInto(filepath.Join(dir, filepath.FromSlash(file)), dst); err != nil {
			return err
		}
		dirs[filepath.Dir(dst)] = true
	}
	for d := range dirs {
		x.sync.add(d)
	}
	links := map[string]bool{}
	for file := range m.Files {
		if !m.Absent[file] {
			links[file[:strings.LastIndexByte(file, '/')]] = true
		}
	}
	for d := range links {
		link := filepath.Join(dir, filepath.FromSlash(d), "by-hash")
		target, err := filepath.Rel(filepath.Dir(link), filepath.Join(store, filepath.FromSlash(d), "by-hash"))
		if err != nil {
			return err
		}
		if err := os.Symlink(target, link); err != nil {
			return err
		}
	}
	return nil
}

// linkInto hard-links src at dst, creating dst's directory; an existing dst
// is kept (by-hash names are content addresses).
func linkInto(src, dst string) error {
	err := os.Link(src, dst)
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Stat(src); serr != nil {
			return serr
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		err = os.Link(src, dst)
	}
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	return err
}

// byHashDirs are the by-hash directories, named as the Release fields; apt
// uses the strongest hash listed, SHA512.
var byHashDirs = []string{"MD5Sum", "SHA256", "SHA512"}

// writeRelease writes Release, InRelease and Release.gpg into dir.
func (r *Repo) writeRelease(dir string, t *target, date time.Time, files map[string]checksums, ss *syncSet) error {
	release := r.releaseText(t, date, files)
	inRelease, err := r.key.ClearSign(release)
	if err != nil {
		return err
	}
	detached, err := r.key.DetachSign(release)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"Release.gpg", detached}, {"Release", release}, {"InRelease", inRelease}} {
		if err := writeNew(filepath.Join(dir, f.name), f.data, ss); err != nil {
			return err
		}
	}
	return nil
}

// releaseText renders the Release file (Debian repository format, "Release
// files"): Suite and Codename are both the distribution name, so apt matches
// the sources.list entry whichever it compares.
func (r *Repo) releaseText(t *target, date time.Time, files map[string]checksums) []byte {
	desc := r.cfg.Repository.Description
	if desc == "" {
		desc = "packyard repository " + t.Name
	}
	st := stanza{
		{"Origin", r.cfg.Repository.Origin},
		{"Label", r.cfg.Repository.Label},
		{"Suite", t.Name},
		{"Codename", t.Name},
		{"Date", date.Format(releaseTime)},
	}
	if vf := time.Duration(t.Suite.ValidFor); vf > 0 {
		st = append(st, field{"Valid-Until", date.Add(vf).Format(releaseTime)})
	}
	st = append(st,
		field{"Architectures", strings.Join(t.Dist.Architectures, " ")},
		field{"Components", strings.Join(t.Dist.Components, " ")},
		field{"Description", desc},
		field{"Acquire-By-Hash", "yes"},
	)
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, h := range byHashDirs {
		var b strings.Builder
		for _, p := range paths {
			if v := files[p].hash(h); v != "" {
				fmt.Fprintf(&b, "\n %s %16d %s", v, files[p].Size, p)
			}
		}
		st = append(st, field{h, b.String()})
	}
	release := st.appendTo(nil)
	return release[:len(release)-1]
}

// releaseTime is the Date format of Release files (RFC 2822, UTC).
const releaseTime = "Mon, 02 Jan 2006 15:04:05 UTC"

// swap points dists/<dist> at generation n atomically and makes it durable.
func (r *Repo) swap(dist string, n int) error {
	link := filepath.Join(r.root, "dists", dist)
	target := filepath.Join("..", stateDir, "generations", dist, strconv.Itoa(n))
	if err := renameio.Symlink(target, link); err != nil {
		return err
	}
	return syncDir(filepath.Dir(link))
}

// writeNew creates p with data, leaving the fsync to ss.
func writeNew(p string, data []byte, ss *syncSet) error {
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	ss.add(p)
	return nil
}

// syncTree records every directory under dir in ss (files are recorded
// when written).
func syncTree(dir string, ss *syncSet) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			ss.add(p)
		}
		return nil
	})
}

// readInto reads file p, of size bytes (-1: unknown), into buf's storage
// (grown as needed).
func readInto(buf []byte, p string, size int64) ([]byte, error) {
	// Plain system calls: os.Open would also try to register every chunk
	// file with the runtime's poller, a wasted system call per chunk.
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	if size < 0 {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return nil, &os.PathError{Op: "stat", Path: p, Err: err}
		}
		size = st.Size
	}
	n := int(size)
	if cap(buf) < n {
		buf = make([]byte, n, n+n/4)
	}
	buf = buf[:n]
	for off := 0; off < n; {
		m, err := unix.Read(fd, buf[off:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: p, Err: err}
		}
		if m == 0 {
			return nil, &os.PathError{Op: "read", Path: p, Err: io.ErrUnexpectedEOF}
		}
		off += m
	}
	return buf, nil
}
