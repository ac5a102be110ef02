package repo

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
}

type hashState interface {
	io.Writer
	Sum([]byte) []byte
	Reset()
}

func newHashWriter() *hashWriter {
	return &hashWriter{md5: md5.New(), sha1: sha1.New(), sha256: sha256.New(), sha512: sha512.New()}
}

func (h *hashWriter) Write(p []byte) (int, error) {
	h.size += int64(len(p))
	h.md5.Write(p)
	h.sha1.Write(p)
	h.sha256.Write(p)
	h.sha512.Write(p)
	return len(p), nil
}

func (h *hashWriter) sums() checksums {
	return checksums{
		Size:   h.size,
		MD5:    hex.EncodeToString(h.md5.Sum(nil)),
		SHA1:   hex.EncodeToString(h.sha1.Sum(nil)),
		SHA256: hex.EncodeToString(h.sha256.Sum(nil)),
		SHA512: hex.EncodeToString(h.sha512.Sum(nil)),
	}
}

func sumBytes(b []byte) checksums {
	h := newHashWriter()
	h.Write(b)
	return h.sums()
}

// sumFile reads p and returns its checksums.
func sumFile(p string) (checksums, error) {
	f, err := os.Open(p)
	if err != nil {
		return checksums{}, err
	}
	defer f.Close()
	h := newHashWriter()
	if _, err := io.Copy(h, f); err != nil {
		return checksums{}, err
	}
	return h.sums(), nil
}

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
	got, err := sumFile(existing)
	if err != nil {
		return err
	}
	if got.SHA256 != sum.SHA256 {
		return &ConflictError{PoolPath: rel, Existing: got.SHA256, Offered: sum.SHA256}
	}
	return nil
}

// ingest copies src into the store (unless present), fsyncs it, and links it
// at rel in the pool. The returned directories need an fsync before any
// generation refers to rel.
func (p pool) ingest(src, rel string, sum checksums) (dirs []string, err error) {
	blob := p.blobPath(sum.SHA256)
	if _, err := os.Stat(blob); errors.Is(err, os.ErrNotExist) {
		if err := copyVerified(src, blob, sum); err != nil {
			return nil, err
		}
		dirs = append(dirs, filepath.Dir(blob))
	} else if err != nil {
		return nil, err
	}
	dst := filepath.Join(p.root, filepath.FromSlash(rel))
	if fi, err := os.Stat(dst); err == nil {
		if bi, err := os.Stat(blob); err == nil && os.SameFile(fi, bi) {
			return dirs, nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	tmp := dst + ".tmp-link"
	os.Remove(tmp)
	if err := os.Link(blob, tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return append(dirs, filepath.Dir(dst)), nil
}

// copyVerified copies src to dst through a temporary file, checking that the
// copy has the expected SHA256 (the input may change under us).
func copyVerified(src, dst string, want checksums) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".ingest-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), in); err != nil {
		tmp.Close()
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.SHA256 {
		tmp.Close()
		return &ChecksumError{Path: src, Algorithm: "SHA256", Want: want.SHA256, Got: got}
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
	return os.Rename(tmp.Name(), dst)
}

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
