package env

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DebCache is the content-addressed cache of downloaded .deb files shared
// by every environment and layer: sha256/<hash>.deb holds each content once;
// by-name/<file name> (apt's archive names) are hard links to those blobs,
// and by-name is what sessions bind at /var/cache/apt/archives. apt checks
// every archive it finds there against the hashes of its signed indexes
// before using it, so a stale or wrong name entry is re-downloaded, never
// installed.
type DebCache struct {
	Dir string
}

// NewDebCache returns the cache rooted at dir (<workspace>/cache/debs).
func NewDebCache(dir string) *DebCache { return &DebCache{Dir: dir} }

// NamesDir returns the by-name directory, created with apt's partial/.
func (c *DebCache) NamesDir() (string, error) {
	dir := filepath.Join(c.Dir, "by-name")
	if err := os.MkdirAll(filepath.Join(dir, "partial"), 0o755); err != nil {
		return "", fmt.Errorf("creating .deb cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(c.Dir, "sha256"), 0o755); err != nil {
		return "", fmt.Errorf("creating .deb cache: %w", err)
	}
	return dir, nil
}

// Path returns where the blob with the hex SHA-256 sum lives.
func (c *DebCache) Path(sum string) string {
	return filepath.Join(c.Dir, "sha256", sum+".deb")
}

// Populate fills dir (a session's /var/cache/apt/archives) with hard
// links to every cached .deb under its apt name, plus apt's partial/. Each
// session gets its own directory, so concurrent sessions never contend for
// apt's archives lock.
func (c *DebCache) Populate(dir string) error {
	names, err := c.NamesDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "partial"), 0o755); err != nil {
		return fmt.Errorf("preparing session archives: %w", err)
	}
	entries, err := os.ReadDir(names)
	if err != nil {
		return fmt.Errorf("listing .deb cache: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".deb") {
			continue
		}
		if err := os.Link(filepath.Join(names, e.Name()), filepath.Join(dir, e.Name())); err != nil && !os.IsExist(err) {
			return fmt.Errorf("preparing session archives: %w", err)
		}
	}
	return nil
}

// IngestFrom takes the .debs a session downloaded into dir into the cache:
// each new one is hashed, stored once as a blob and linked under its apt
// name. It returns how many were new and their bytes.
func (c *DebCache) IngestFrom(dir string) (files int, bytes int64, err error) {
	names, err := c.NamesDir()
	if err != nil {
		return 0, 0, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, fmt.Errorf("listing session archives: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".deb") {
			continue
		}
		dst := filepath.Join(names, e.Name())
		if _, err := os.Stat(dst); err == nil {
			continue // populated from the cache, not downloaded
		}
		src := filepath.Join(dir, e.Name())
		sum, err := fileSHA256(src)
		if err != nil {
			return files, bytes, err
		}
		blob := c.Path(sum)
		if err := os.Link(src, blob); err != nil && !os.IsExist(err) {
			return files, bytes, fmt.Errorf("caching %s: %w", e.Name(), err)
		}
		if err := os.Link(blob, dst); err != nil && !os.IsExist(err) {
			return files, bytes, fmt.Errorf("caching %s: %w", e.Name(), err)
		}
		if info, err := e.Info(); err == nil {
			bytes += info.Size()
		}
		files++
	}
	return files, bytes, nil
}

// Ingest hashes every by-name .deb that is not yet a link to a blob and
// links it in: a new content becomes a blob, a known content replaces the
// name with a link to the existing blob. It returns how many files it
// took in and their bytes.
func (c *DebCache) Ingest() (files int, bytes int64, err error) {
	names, err := c.NamesDir()
	if err != nil {
		return 0, 0, err
	}
	entries, err := os.ReadDir(names)
	if err != nil {
		return 0, 0, fmt.Errorf("listing .deb cache: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".deb") {
			continue
		}
		p := filepath.Join(names, e.Name())
		info, err := e.Info()
		if err != nil {
			continue
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			continue // already a blob link
		}
		sum, err := fileSHA256(p)
		if err != nil {
			return files, bytes, err
		}
		blob := c.Path(sum)
		if _, err := os.Stat(blob); err == nil {
			tmp := p + ".link"
			if err := os.Link(blob, tmp); err != nil {
				return files, bytes, fmt.Errorf("linking cached .deb: %w", err)
			}
			if err := os.Rename(tmp, p); err != nil {
				return files, bytes, fmt.Errorf("linking cached .deb: %w", err)
			}
		} else if err := os.Link(p, blob); err != nil {
			return files, bytes, fmt.Errorf("storing cached .deb: %w", err)
		}
		files++
		bytes += info.Size()
	}
	return files, bytes, nil
}

// Verify checks that each blob's content matches its name and removes
// those that do not (with their name links left for apt to re-fetch). It
// returns the removed blob sums.
func (c *DebCache) Verify() ([]string, error) {
	blobs, err := filepath.Glob(filepath.Join(c.Dir, "sha256", "*.deb"))
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, b := range blobs {
		want := strings.TrimSuffix(filepath.Base(b), ".deb")
		f, err := os.Open(b)
		if err != nil {
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err == nil && hex.EncodeToString(h.Sum(nil)) == want {
			continue
		}
		if err := os.Remove(b); err != nil {
			return bad, fmt.Errorf("removing corrupt cached .deb: %w", err)
		}
		bad = append(bad, want)
	}
	return bad, nil
}
