package repo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/packyard/packyard/internal/parallel"
	"github.com/packyard/packyard/internal/run"
)

// Indexes (Packages, Sources, Contents) are kept as sorted runs of records
// cut into chunks of about chunkTarget bytes. Each chunk is stored once,
// by the SHA256 of its text, together with its gzip member and its xz
// block. A published .gz index is the concatenation of its chunks' members
// (a multi-member gzip file, RFC 1952 section 2.2, which zlib's gzread and
// so apt read whole); a published .xz index is one xz stream with one block
// per chunk (see xzstream.go). Adding one package to a suite of 60,000
// recompresses one chunk, not the whole index.

// chunkTarget is the size chunks are cut to; a chunk is split when it grows
// past twice this.
const defaultChunkTarget = 64 << 10

// chunkRef names one chunk of an index.
type chunkRef struct {
	First  string `json:"first"`  // key of its first record
	SHA256 string `json:"sha256"` // of the uncompressed text
	Size   int64  `json:"size"`   // uncompressed
	XZ     int64  `json:"xz"`     // unpadded size of its xz block
	Count  int    `json:"count"`  // records
	// Tail marks a chunk of the index's tail run (see indextail.go).
	Tail bool `json:"tail,omitempty"`
}

// recordKind says how an index's records are delimited and keyed.
type recordKind int

const (
	// kindStanza records are deb822 paragraphs keyed by their first field
	// (Package), each ending with a blank line.
	kindStanza recordKind = iota
	// kindContents records are Contents lines "path   section/package,...".
	kindContents
)

// record is one entry of an index with its exact bytes.
type record struct {
	Key  string
	Data []byte
}

// splitRecords cuts chunk text into records.
func splitRecords(kind recordKind, data []byte) ([]record, error) {
	var out []record
	for len(data) > 0 {
		var n int
		if kind == kindStanza {
			i := bytes.Index(data, []byte("\n\n"))
			if i < 0 {
				return nil, errors.New("chunk: unterminated stanza")
			}
			n = i + 2
		} else {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				return nil, errors.New("chunk: unterminated line")
			}
			n = i + 1
		}
		rec := data[:n:n]
		out = append(out, record{Key: recordKey(kind, rec), Data: rec})
		data = data[n:]
	}
	return out, nil
}

// recordKey returns the Package of a stanza or the path of a Contents line.
func recordKey(kind recordKind, rec []byte) string {
	if kind == kindContents {
		line := bytes.TrimRight(rec, "\n")
		i := bytes.LastIndexAny(line, " \t")
		if i < 0 {
			return string(line)
		}
		return string(bytes.TrimRight(line[:i], " \t"))
	}
	line := rec
	if i := bytes.IndexByte(rec, '\n'); i >= 0 {
		line = rec[:i]
	}
	if c := bytes.IndexByte(line, ':'); c >= 0 {
		return string(bytes.TrimSpace(line[c+1:]))
	}
	return ""
}

// chunkStore keeps chunk texts and their compressed forms under
// .packyard/chunks/<ab>/<sha256>{,.gz,.xz}.
type chunkStore struct {
	dir string
	// runner runs xz(1) to compress new chunks (xzBlocksOf); with nil,
	// chunks are compressed in Go.
	runner *run.Runner
}

func (s chunkStore) path(sha, ext string) string {
	return filepath.Join(s.dir, sha[:2], sha+ext)
}

// lookup returns the reference of text as a chunk; its XZ is set (non-zero)
// when the chunk is stored already.
func (s chunkStore) lookup(text []byte, first string, count int) chunkRef {
	sum := sha256.Sum256(text)
	ref := chunkRef{First: first, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(text)), Count: count}
	if fi, err := os.Stat(s.path(ref.SHA256, ".xz")); err == nil {
		ref.XZ = fi.Size()
	}
	return ref
}

// put stores text, a new chunk of reference ref (lookup), with its gzip
// member gz and xz block xzb (made here when nil), and returns ref with its
// xz block size.
func (s chunkStore) put(ref chunkRef, text, gz, xzb []byte, ss *syncSet) (chunkRef, error) {
	sha := ref.SHA256
	if xzb == nil {
		var err error
		if xzb, err = xzBlockOf(text); err != nil {
			return ref, err
		}
	}
	ref.XZ = int64(len(xzb))
	// The .xz block is written last: its presence marks a complete chunk.
	for _, f := range []struct {
		ext  string
		data []byte
	}{{"", text}, {".gz", gz}, {".xz", xzb}} {
		if err := writeFileFanout(s.path(sha, f.ext), f.data, ss); err != nil {
			return ref, err
		}
	}
	return ref, nil
}

// text returns a chunk's uncompressed bytes.
func (s chunkStore) text(ref chunkRef) ([]byte, error) {
	b, err := os.ReadFile(s.path(ref.SHA256, ""))
	if err != nil {
		return nil, fmt.Errorf("reading index chunk: %w", err)
	}
	return b, nil
}

// writeFileAtomic writes data to p through a synced temporary file; an
// existing p is left alone (content-addressed files never change).
func writeFileAtomic(p string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// workIndex is an index being changed. Changes are kept in an overlay and
// merged into the affected chunks at commit, so bulk adds stay linear.
type workIndex struct {
	kind    recordKind
	store   chunkStore
	sync    *syncSet // where commit records the chunks it writes
	target  int
	chunks  []chunkRef
	cache   map[int][]record // chunk number -> records, as stored
	overlay map[string]change
}

// change is a pending record: new data, or a deletion.
type change struct {
	data []byte
	del  bool
}

func newWorkIndex(kind recordKind, store chunkStore, target int, chunks []chunkRef) *workIndex {
	return &workIndex{kind: kind, store: store, target: target, chunks: chunks, cache: map[int][]record{}, overlay: map[string]change{}}
}

// changed reports whether the index has pending changes.
func (w *workIndex) changed() bool { return len(w.overlay) > 0 }

func (w *workIndex) load(i int) ([]record, error) {
	if i < 0 || i >= len(w.chunks) {
		return nil, nil
	}
	if recs, ok := w.cache[i]; ok {
		return recs, nil
	}
	text, err := w.store.text(w.chunks[i])
	if err != nil {
		return nil, err
	}
	recs, err := splitRecords(w.kind, text)
	if err != nil {
		return nil, err
	}
	w.cache[i] = recs
	return recs, nil
}

// get returns the record with key, or nil.
func (w *workIndex) get(key string) ([]byte, error) {
	if c, ok := w.overlay[key]; ok {
		if c.del {
			return nil, nil
		}
		return c.data, nil
	}
	_, data, err := w.find(key)
	return data, err
}

// put sets the record of key; nil data deletes it.
func (w *workIndex) put(key string, data []byte) {
	w.overlay[key] = change{data: data, del: data == nil}
}

// pendingByChunk groups the overlay's keys, sorted, by the chunk they
// belong to (see locate); len(w.chunks) stands for a new chunk at the end.
func (w *workIndex) pendingByChunk(tail bool) (map[int][]string, error) {
	keys := make([]string, 0, len(w.overlay))
	for k := range w.overlay {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[int][]string{}
	for _, k := range keys {
		i, err := w.locate(k, tail)
		if err != nil {
			return nil, err
		}
		out[i] = append(out[i], k)
	}
	return out, nil
}

// merged returns chunk i's records with the pending changes of keys applied.
func (w *workIndex) merged(i int, keys []string) ([]record, error) {
	recs, err := w.load(i)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return recs, nil
	}
	out := make([]record, 0, len(recs)+len(keys))
	j := 0
	for _, k := range keys {
		for j < len(recs) && recs[j].Key < k {
			out = append(out, recs[j])
			j++
		}
		if j < len(recs) && recs[j].Key == k {
			j++
		}
		if c := w.overlay[k]; !c.del {
			out = append(out, record{Key: k, Data: c.data})
		}
	}
	return append(out, recs[j:]...), nil
}

// all calls fn for every record, changes applied, in index order.
func (w *workIndex) all(fn func(key string, data []byte) error) error {
	pending, err := w.pendingByChunk(w.tailAllowed())
	if err != nil {
		return err
	}
	for i := 0; i <= len(w.chunks); i++ {
		if i == len(w.chunks) && len(pending[i]) == 0 {
			break
		}
		_, cached := w.cache[i]
		recs, err := w.merged(i, pending[i])
		if err != nil {
			return err
		}
		if !cached {
			delete(w.cache, i) // keep memory flat on full scans
		}
		for _, r := range recs {
			if err := fn(r.Key, r.Data); err != nil {
				return err
			}
		}
	}
	return nil
}

// commit stores changed chunks and returns the new chunk list: the chunks
// with pending changes are merged and cut again, new records go where
// placement says, and every other chunk is kept as it is.
func (w *workIndex) commit() ([]chunkRef, error) {
	tail, err := w.placement()
	if err != nil {
		return nil, err
	}
	pending, err := w.pendingByChunk(tail)
	if err != nil {
		return nil, err
	}
	n := w.mainLen()
	var out []chunkRef
	for i := 0; i <= len(w.chunks); i++ {
		keys, ok := pending[i]
		if !ok {
			if i < len(w.chunks) {
				out = append(out, w.chunks[i])
			}
			continue
		}
		recs, err := w.merged(i, keys)
		if err != nil {
			return nil, err
		}
		refs, err := w.cut(recs)
		if err != nil {
			return nil, err
		}
		inTail := i >= n && (i < len(w.chunks) || tail)
		for k := range refs {
			refs[k].Tail = inTail
		}
		out = append(out, refs...)
	}
	return out, nil
}

// cut stores recs as one chunk, or as chunks of about the target size when
// they exceed twice the target; chunks are compressed in parallel.
func (w *workIndex) cut(recs []record) ([]chunkRef, error) {
	total := 0
	for _, r := range recs {
		total += len(r.Data)
	}
	limit := w.target
	if total <= 2*w.target {
		limit = total + 1
	}
	type piece struct {
		text  []byte
		first string
		count int
	}
	var pieces []piece
	var buf []byte
	start := 0
	for j, r := range recs {
		if len(buf) > 0 && len(buf)+len(r.Data) > limit {
			pieces = append(pieces, piece{buf, recs[start].Key, j - start})
			buf, start = nil, j
		}
		buf = append(buf, r.Data...)
	}
	if len(buf) > 0 {
		pieces = append(pieces, piece{buf, recs[start].Key, len(recs) - start})
	}
	out := make([]chunkRef, len(pieces))
	texts := make([][]byte, len(pieces))
	for i, p := range pieces {
		out[i], texts[i] = w.store.lookup(p.text, p.first, p.count), p.text
	}
	if err := w.store.putNew(out, texts, w.sync); err != nil {
		return nil, err
	}
	return out, nil
}

// putNew stores the texts whose references (lookup) are not stored yet
// and completes their references; chunks stored already are kept. xz(1)
// compresses the new texts while the gzip members are made, all of them,
// in parallel; then the chunks are written, also in parallel.
func (s chunkStore) putNew(refs []chunkRef, texts [][]byte, ss *syncSet) error {
	var fresh []int
	var todo [][]byte
	for i, r := range refs {
		if r.XZ == 0 {
			fresh = append(fresh, i)
			todo = append(todo, texts[i])
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	var xzbs [][]byte
	xzDone := make(chan struct{})
	go func() { defer close(xzDone); xzbs = s.xzBlocksOf(todo) }()
	gzs := make([][]byte, len(fresh))
	errs := make([]error, len(fresh))
	parallel.For(len(fresh), 1, func(n int) error { gzs[n], errs[n] = gzCompress(todo[n]); return nil })
	<-xzDone
	if err := errors.Join(errs...); err != nil {
		return err
	}
	parallel.For(len(fresh), 1, func(n int) error {
		var xzb []byte
		if xzbs != nil {
			xzb = xzbs[n]
		}
		i := fresh[n]
		refs[i], errs[n] = s.put(refs[i], texts[i], gzs[n], xzb, ss)
		return nil
	})
	return errors.Join(errs...)
}

// fillXZ sets the xz block size of chunk references that lack it (written
// before it was recorded), returning a new slice when any changed.
func (s chunkStore) fillXZ(cs []chunkRef) []chunkRef {
	var out []chunkRef
	for i, c := range cs {
		if c.XZ != 0 {
			continue
		}
		fi, err := os.Stat(s.path(c.SHA256, ".xz"))
		if err != nil {
			continue
		}
		if out == nil {
			out = append([]chunkRef(nil), cs...)
		}
		out[i].XZ = fi.Size()
	}
	if out == nil {
		return cs
	}
	return out
}
