package env

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
)

// A build-dependency layer is the overlay upper directory left by
// installing one resolved set of build-dependencies into an environment,
// kept under <env>/layers/<hash>/ and stacked as a lower directory by later
// sessions that need the same set, so they install nothing. The hash is
// LayerHash of the (name, exact version) set.

// LayerManifest is layers/<hash>/manifest.json, written last.
type LayerManifest struct {
	Hash string `json:"hash"`
	// Packages maps each installed package to its exact version.
	Packages map[string]string `json:"packages"`
	Created  time.Time         `json:"created"`
	// Size is the layer's disk usage in bytes when made.
	Size int64 `json:"size"`
}

// Layer is one ready build-dependency layer.
type Layer struct {
	Dir      string
	Root     string
	Manifest LayerManifest
	// LastUsed is when a session last stacked it.
	LastUsed time.Time
}

// LayerHash returns the hex SHA-256 of a resolved package set: lines
// "name=version\n" sorted by name.
func LayerHash(packages map[string]string) string {
	names := make([]string, 0, len(packages))
	for n := range packages {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s=%s\n", n, packages[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// LayersDir returns the directory of e's layers.
func (e *Env) LayersDir() string { return filepath.Join(e.Dir, "layers") }

// Layer returns the layer with hash, or an error wrapping os.ErrNotExist.
func (e *Env) Layer(hash string) (*Layer, error) {
	dir := filepath.Join(e.LayersDir(), hash)
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("reading layer manifest: %w", err)
	}
	var man LayerManifest
	if err := json.Unmarshal(data, &man); err != nil {
		return nil, fmt.Errorf("decoding layer manifest: %w", err)
	}
	if man.Hash != hash || LayerHash(man.Packages) != hash {
		return nil, fmt.Errorf("layer %s: manifest does not match its hash", hash)
	}
	l := &Layer{Dir: dir, Root: filepath.Join(dir, "root"), Manifest: man}
	if st, err := os.Stat(filepath.Join(dir, "used")); err == nil {
		l.LastUsed = st.ModTime()
	}
	return l, nil
}

// Layers lists e's valid layers, most recently used first.
func (e *Env) Layers() ([]*Layer, error) {
	entries, err := os.ReadDir(e.LayersDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing layers: %w", err)
	}
	var out []*Layer
	for _, d := range entries {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		if l, err := e.Layer(d.Name()); err == nil {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastUsed.After(out[j].LastUsed) })
	return out, nil
}

// LayerIndex maps a cheap key of a build's inputs (environment, the
// build-dependency fields, options) to the hash of the layer its resolved
// set gave, so a rebuild finds its layer without running apt.
func (e *Env) LayerIndex(key string) (string, bool) {
	hash, _, ok := e.LayerIndexRecord(key)
	return hash, ok
}

// SetLayerIndex records that key resolved to the layer hash.
func (e *Env) SetLayerIndex(key, hash string) error { return e.SetLayerIndexRecord(key, hash, "") }

// LayerIndexRecord returns key's layer hash and the digest of the extra
// repositories' state that the resolution depended on ("" when none): the
// caller re-resolves when the repositories' digest is no longer that one.
// The record is layers/index/<key>: the hash on the first line, then
// "extra <digest>" when there is one.
func (e *Env) LayerIndexRecord(key string) (hash, extra string, ok bool) {
	data, err := os.ReadFile(filepath.Join(e.LayersDir(), "index", key))
	if err != nil {
		return "", "", false
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for _, l := range lines[1:] {
		if d, found := strings.CutPrefix(l, "extra "); found {
			extra = strings.TrimSpace(d)
		}
	}
	hash = strings.TrimSpace(lines[0])
	return hash, extra, hash != ""
}

// SetLayerIndexRecord records that key resolved to the layer hash while
// the extra repositories had the digest extra ("" for none).
func (e *Env) SetLayerIndexRecord(key, hash, extra string) error {
	dir := filepath.Join(e.LayersDir(), "index")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing layer index: %w", err)
	}
	data := hash + "\n"
	if extra != "" {
		data += "extra " + extra + "\n"
	}
	if err := renameio.WriteFile(filepath.Join(dir, key), []byte(data), 0o644); err != nil {
		return fmt.Errorf("writing layer index: %w", err)
	}
	return nil
}

// lockShared takes a shared flock on path (created if missing) and
// returns the open file holding it.
func lockShared(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// tryLockFile takes an exclusive flock on path without waiting.
func tryLockFile(path string) (*os.File, bool) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return f, true
}

// DiskUsage returns the bytes of the regular files below root that can be
// read (unreadable entries, such as files of subordinate ids without root,
// are skipped).
func DiskUsage(root string) int64 {
	var n int64
	_ = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// LayerPolicy bounds the layers kept per environment.
type LayerPolicy struct {
	// MaxAge removes layers unused for longer (0: no age limit).
	MaxAge time.Duration
	// MaxBytes removes least recently used layers while the total is larger
	// (0: no size limit).
	MaxBytes int64
}

// CollectLayers removes e's layers that policy rejects and that no session
// uses, least recently used first, and returns the removed hashes.
func CollectLayers(e *Env, policy LayerPolicy, now time.Time) ([]string, error) {
	layers, err := e.Layers()
	if err != nil {
		return nil, err
	}
	var total int64
	for _, l := range layers {
		total += l.Manifest.Size
	}
	var removed []string
	// layers are most recently used first; walk from the oldest.
	for i := len(layers) - 1; i >= 0; i-- {
		l := layers[i]
		tooOld := policy.MaxAge > 0 && now.Sub(l.LastUsed) > policy.MaxAge
		tooBig := policy.MaxBytes > 0 && total > policy.MaxBytes
		if !tooOld && !tooBig {
			continue
		}
		f, ok := tryLockFile(l.Dir + ".lock")
		if !ok {
			continue
		}
		trash := filepath.Join(e.LayersDir(), ".trash-"+filepath.Base(l.Dir)+"-"+randomID())
		err := os.Rename(l.Dir, trash)
		f.Close()
		if err != nil {
			return removed, fmt.Errorf("removing layer: %w", err)
		}
		if err := os.RemoveAll(trash); err != nil {
			return removed, fmt.Errorf("removing layer: %w", err)
		}
		total -= l.Manifest.Size
		removed = append(removed, filepath.Base(l.Dir))
	}
	return removed, nil
}
