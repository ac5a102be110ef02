package repo

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// checksums are the sizes and digests (lowercase hex) APT indexes list for a file.
type checksums struct {
	Size   int64
	MD5    string
	SHA1   string
	SHA256 string
	SHA512 string
}

// hashWriter computes every checksum of what is written to it.
type hashWriter struct {
	size                      int64
	md5, sha1, sha256, sha512 hashState
	// parallel hashes large writes with one goroutine per algorithm.
	parallel bool
}

type hashState interface {
	io.Writer
	Sum([]byte) []byte
	Reset()
}

// newHashWriter computes size, MD5, SHA1, SHA256 and SHA512.
func newHashWriter() *hashWriter {
	return &hashWriter{md5: md5.New(), sha1: sha1.New(), sha256: sha256.New(), sha512: sha512.New()}
}

// newIndexHasher computes what Release lists for an index file: size,
// MD5, SHA256, SHA512; with sha256Only, size and SHA256 alone (for the
// uncompressed form of a large index, which is listed but not published,
// so that apt finds the target and can check what it decompressed).
func newIndexHasher(sha256Only bool) *hashWriter {
	if sha256Only {
		return &hashWriter{sha256: sha256.New()}
	}
	return &hashWriter{md5: md5.New(), sha256: sha256.New(), sha512: sha512.New(), parallel: true}
}

// newFileHasher computes what Packages lists for a pool file: size, MD5
// and SHA256, as Debian's archive (dak) lists them; with withSHA1 also
// SHA1, which the Checksums-Sha1 fields of .dsc and .changes files (and
// Sources) carry.
func newFileHasher(withSHA1 bool) *hashWriter {
	h := &hashWriter{md5: md5.New(), sha256: sha256.New()}
	if withSHA1 {
		h.sha1 = sha1.New()
	}
	return h
}

func (h *hashWriter) Write(p []byte) (int, error) {
	h.size += int64(len(p))
	if h.parallel && len(p) >= 64<<10 {
		var wg sync.WaitGroup
		for _, x := range []hashState{h.md5, h.sha1, h.sha256, h.sha512} {
			if x != nil {
				wg.Add(1)
				go func() { defer wg.Done(); x.Write(p) }()
			}
		}
		wg.Wait()
		return len(p), nil
	}
	// Each piece goes through every hash while it is still in the CPU's
	// cache (see hashStep).
	n := len(p)
	for len(p) > 0 {
		piece := p[:min(len(p), hashStep)]
		for _, x := range []hashState{h.md5, h.sha1, h.sha256, h.sha512} {
			if x != nil {
				x.Write(piece)
			}
		}
		p = p[len(piece):]
	}
	return n, nil
}

// hashStep is how much a hashWriter gives each hash at a time. Hashing
// 232 MB of .debs with MD5 and SHA256 took 6-10% less CPU in 32 KiB steps
// through a 256 KiB buffer than in 1 MiB ones (the second hash read the
// buffer back from memory instead of the cache).
const hashStep = 32 << 10

// states returns the marshaled states of the hashes (md5, sha1, sha256,
// sha512; empty for unused ones).
func (h *hashWriter) states() ([][]byte, error) {
	var out [][]byte
	for _, x := range []hashState{h.md5, h.sha1, h.sha256, h.sha512} {
		if x == nil {
			out = append(out, nil)
			continue
		}
		b, err := x.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// restore sets the hash states and size from a checkpoint.
func (h *hashWriter) restore(states [][]byte, size int64) error {
	xs := []hashState{h.md5, h.sha1, h.sha256, h.sha512}
	if len(states) != len(xs) {
		return errors.New("checkpoint: wrong number of hash states")
	}
	for i, x := range xs {
		if (x == nil) != (len(states[i]) == 0) {
			return errors.New("checkpoint: hash set differs")
		}
		if x == nil {
			continue
		}
		if err := x.(encoding.BinaryUnmarshaler).UnmarshalBinary(states[i]); err != nil {
			return err
		}
	}
	h.size = size
	return nil
}

func (h *hashWriter) sums() checksums {
	hexOf := func(x hashState) string {
		if x == nil {
			return ""
		}
		return hex.EncodeToString(x.Sum(nil))
	}
	return checksums{Size: h.size, MD5: hexOf(h.md5), SHA1: hexOf(h.sha1), SHA256: hexOf(h.sha256), SHA512: hexOf(h.sha512)}
}

// sumFile reads p and returns its checksums.
func sumFile(p string) (checksums, error) {
	return sumFileWith(p, newHashWriter())
}

// sha256File reads p and returns its size and SHA256 (what pool checks
// compare).
func sha256File(p string) (checksums, error) {
	return sumFileWith(p, newIndexHasher(true))
}

func sumFileWith(p string, h *hashWriter) (checksums, error) {
	f, err := openFile(p)
	if err != nil {
		return checksums{}, err
	}
	defer f.Close()
	if err := copyHashing(nil, h, f, nil); err != nil {
		return checksums{}, err
	}
	return h.sums(), nil
}

// copyHashing reads in to its end through one large recycled buffer,
// feeding every chunk to h and, when dst is non-nil, writing it to dst.
// (io.Copy from an *os.File goes through File.WriteTo, which ignores the
// buffer given to io.CopyBuffer and allocates 32 KiB ones: eight times the
// system calls for a large file.)
//
// With head non-nil, the file's first bytes (up to headSize) are copied to
// *head, so that a package's control member can be read without reading
// the file again.
func copyHashing(dst io.Writer, h *hashWriter, in io.Reader, head *[]byte) error {
	buf := copyBuffers.get()
	defer copyBuffers.put(buf)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if head != nil && len(*head) < headSize {
				*head = append(*head, buf[:min(n, headSize-len(*head))]...)
			}
			if dst != nil {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return werr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// headSize is how much of a package file store keeps for reading its
// control member (which follows the 132 bytes of ar and debian-binary
// headers, and is rarely over a few tens of KiB).
const headSize = 128 << 10

// headBuffers recycles the buffers storeHead copies file heads to.
var headBuffers = newFreeList(16, func() *[]byte { b := make([]byte, 0, headSize); return &b })

// copyBuffers recycles the buffers files are copied and hashed through.
var copyBuffers = newFreeList(16, func() []byte { return make([]byte, 256<<10) })

// pool is the content-addressed store under .packyard/store/sha256 and its
// presentation in the Debian pool layout under pool/.
type pool struct {
	root string // repository root
}

func (p pool) blobPath(sha256hex string) string {
	return filepath.Join(p.root, stateDir, "store", "sha256", sha256hex[:2], sha256hex)
}

// poolDir returns pool/<component>/<prefix>/<source> relative to the root,
// with prefix "libx" for lib* sources and the first letter otherwise
// (Debian archive layout).
func poolDir(component, source string) string {
	prefix := source[:1]
	if strings.HasPrefix(source, "lib") && len(source) > 3 {
		prefix = source[:4]
	}
	return "pool/" + component + "/" + prefix + "/" + source
}

// check returns a *ConflictError when rel already exists with other content.
func (p pool) check(rel string, sum checksums) error {
	existing := filepath.Join(p.root, filepath.FromSlash(rel))
	fi, err := os.Stat(existing)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if bi, err := os.Stat(p.blobPath(sum.SHA256)); err == nil && os.SameFile(fi, bi) {
		return nil
	}
	got, err := sha256File(existing)
	if err != nil {
		return err
	}
	if got.SHA256 != sum.SHA256 {
		return &ConflictError{PoolPath: rel, Existing: got.SHA256, Offered: sum.SHA256}
	}
	return nil
}

// store copies src into the content-addressed store while computing its
// checksums, in one pass, and returns them; the blob's fsync is left to ss.
// Blobs nothing refers to are harmless and collected by gc.
//
// With link set, src is hard-linked into the store instead of copied when
// both are on one filesystem: no data is written, but a later in-place
// change of src would change the pool, so only inputs that nobody rewrites
// (packyard's own build results) should be linked.
//
// store computes every checksum a .dsc or .changes lists (with SHA1): it
// stores control files and the files they list.
func (p pool) store(src string, ss *syncSet, link bool) (checksums, error) {
	return p.storeHead(src, ss, link, nil, true)
}

// storeHead is store that also copies the first bytes of src to *head
// (see copyHashing), and computes SHA1 only when withSHA1 is set.
func (p pool) storeHead(src string, ss *syncSet, link bool, head *[]byte, withSHA1 bool) (checksums, error) {
	in, err := openFile(src)
	if err != nil {
		return checksums{}, err
	}
	defer in.Close()
	if link && worldReadable(in) && procFD() {
		sum, ok, err := p.storeLinked(src, in, ss, head, withSHA1)
		if err != nil || ok {
			return sum, err
		}
		if _, err := in.Seek(0, io.SeekStart); err != nil {
			return checksums{}, err
		}
		if head != nil {
			*head = (*head)[:0]
		}
	}
	storeDir := filepath.Join(p.root, stateDir, "store", "sha256")
	if fd, err := unix.Open(storeDir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o644); err == nil && procFD() {
		return p.storeUnnamed(os.NewFile(uintptr(fd), storeDir+"/(unnamed)"), in, ss, head, withSHA1)
	} else if err == nil {
		unix.Close(fd)
	}
	tmp, err := os.CreateTemp(storeDir, ".ingest-*")
	if err != nil {
		return checksums{}, err
	}
	renamed := false
	defer func() {
		if !renamed {
			os.Remove(tmp.Name())
		}
	}()
	h := newFileHasher(withSHA1)
	err = copyHashing(tmp, h, in, head)
	if err != nil {
		tmp.Close()
		return checksums{}, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return checksums{}, err
	}
	if err := tmp.Close(); err != nil {
		return checksums{}, err
	}
	sum := h.sums()
	blob := p.blobPath(sum.SHA256)
	if _, err := os.Stat(blob); err == nil {
		return sum, nil
	}
	if err := inFanout(filepath.Dir(blob), ss, func() error { return os.Rename(tmp.Name(), blob) }); err != nil {
		return checksums{}, err
	}
	renamed = true
	ss.addFile(blob)
	return sum, nil
}

// storeUnnamed copies in to tmp, an unnamed file of the store (O_TMPFILE),
// and links it as its blob: no temporary name is created, renamed or left
// behind by a crash, and parallel stores do not contend for the store
// directory.
func (p pool) storeUnnamed(tmp *os.File, in *os.File, ss *syncSet, head *[]byte, withSHA1 bool) (checksums, error) {
	defer tmp.Close()
	h := newFileHasher(withSHA1)
	if err := copyHashing(tmp, h, in, head); err != nil {
		return checksums{}, err
	}
	startWriteback(tmp)
	if err := tmp.Chmod(0o644); err != nil {
		return checksums{}, err
	}
	sum := h.sums()
	blob := p.blobPath(sum.SHA256)
	// An existing blob is the same content: linking fails with EEXIST.
	self := "/proc/self/fd/" + strconv.Itoa(int(tmp.Fd()))
	err := inFanout(filepath.Dir(blob), ss, func() error {
		return unix.Linkat(unix.AT_FDCWD, self, unix.AT_FDCWD, blob, unix.AT_SYMLINK_FOLLOW)
	})
	if err != nil && !errors.Is(err, os.ErrExist) {
		return checksums{}, fmt.Errorf("linking %s: %w", blob, err)
	}
	ss.addFile(blob)
	return sum, nil
}

// procFD reports whether /proc/self/fd is there for linking unnamed files.
var procFD = sync.OnceValue(func() bool {
	_, err := os.Stat("/proc/self/fd")
	return err == nil
})

// storeLinked hashes in and links src as its blob; ok is false when src is
// on another filesystem.
func (p pool) storeLinked(src string, in *os.File, ss *syncSet, head *[]byte, withSHA1 bool) (sum checksums, ok bool, err error) {
	h := newFileHasher(withSHA1)
	err = copyHashing(nil, h, in, head)
	if err != nil {
		return checksums{}, false, err
	}
	sum = h.sums()
	blob := p.blobPath(sum.SHA256)
	// The opened file is linked, not the name: the blob is the inode that
	// was hashed even if src is renamed over or a symbolic link.
	self := "/proc/self/fd/" + strconv.Itoa(int(in.Fd()))
	err = inFanout(filepath.Dir(blob), ss, func() error {
		return unix.Linkat(unix.AT_FDCWD, self, unix.AT_FDCWD, blob, unix.AT_SYMLINK_FOLLOW)
	})
	if errors.Is(err, syscall.EXDEV) || errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EPERM) {
		return checksums{}, false, nil
	}
	if err != nil && !errors.Is(err, os.ErrExist) {
		return checksums{}, false, err
	}
	ss.addFile(blob)
	return sum, true, nil
}

// worldReadable reports whether f is a regular file everyone may read: only
// such a file is linked into the pool, where apt (as _apt) and the server
// must read it; any other is copied with mode 0644.
func worldReadable(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o444 == 0o444
}

// link presents the stored blob of sum at rel in the pool. A file already
// at rel is left when it is the blob and replaced when it has the blob's
// content (another inode of it). Any other file there is replaced only
// when replace is set (.changes and .buildinfo records); otherwise link
// returns a *ConflictError: another add linked a different file at rel
// after this add's checkPool, and the first one linked stays.
func (p pool) link(rel string, sum checksums, replace bool, ss *syncSet) error {
	blob := p.blobPath(sum.SHA256)
	dst := filepath.Join(p.root, filepath.FromSlash(rel))
	// A new pool entry is linked in place: link(2) makes the name whole or
	// not at all, and of two adds linking one name only one succeeds.
	err := os.Link(blob, dst)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		ss.add(filepath.Dir(filepath.Dir(dst)))
		err = os.Link(blob, dst)
	}
	if err == nil {
		ss.add(filepath.Dir(dst))
		return nil
	}
	if !errors.Is(err, os.ErrExist) {
		return err
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return err
	}
	if bi, err := os.Stat(blob); err == nil && os.SameFile(fi, bi) {
		return nil // already this blob
	}
	if !replace {
		// The same comparison as checkPool's: a difference now was linked
		// by another add since then.
		if err := p.check(rel, sum); err != nil {
			if ce, ok := errors.AsType[*ConflictError](err); ok {
				ce.Concurrent = true
			}
			return err
		}
	}
	// Replaced through a temporary link and rename(2). The temporary name
	// is this process's own, so concurrent adds never remove each other's.
	tmp := fmt.Sprintf("%s.tmp-link.%d.%d", dst, os.Getpid(), tmpLinks.Add(1))
	if err := os.Link(blob, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	ss.add(filepath.Dir(dst))
	return nil
}

// tmpLinks numbers link's temporary names within this process.
var tmpLinks atomic.Uint64

// syncDir fsyncs a directory so that entries created in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
