package repo

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// indexSpec is one index file family of a distribution: Dir/Base plus its
// .gz and .xz forms.
type indexSpec struct {
	Dir  string // "main/binary-amd64", "main/source", "main"
	Base string // "Packages", "Sources", "Contents-amd64"
	Kind recordKind
}

// Key names the index in manifests: Dir/Base.
func (s indexSpec) Key() string { return s.Dir + "/" + s.Base }

func binarySpec(comp, arch string, udeb bool) indexSpec {
	dir := comp + "/binary-" + arch
	if udeb {
		dir = comp + "/debian-installer/binary-" + arch
	}
	return indexSpec{Dir: dir, Base: "Packages", Kind: kindStanza}
}

func sourceSpec(comp string) indexSpec {
	return indexSpec{Dir: comp + "/source", Base: "Sources", Kind: kindStanza}
}

// contentsSpec is the Contents index of comp and arch: Contents-<arch>,
// or for udebs Contents-udeb-<arch>, beside it in the component directory
// as Debian's archive publishes them.
func contentsSpec(comp, arch string, udeb bool) indexSpec {
	if udeb {
		return indexSpec{Dir: comp, Base: "Contents-udeb-" + arch, Kind: kindContents}
	}
	return indexSpec{Dir: comp, Base: "Contents-" + arch, Kind: kindContents}
}

// specFromKey inverts Key.
func specFromKey(key string) indexSpec {
	i := strings.LastIndexByte(key, '/')
	s := indexSpec{Dir: key[:i], Base: key[i+1:]}
	if strings.HasPrefix(s.Base, "Contents-") {
		s.Kind = kindContents
	}
	return s
}

// manifest describes one generation: the chunks of each index and the
// checksums of every file its Release lists. It lives beside the generation directory
// as <n>.json and never changes once written.
type manifest struct {
	Distribution string                `json:"distribution"`
	Generation   int                   `json:"generation"`
	Parent       int                   `json:"parent"`
	Date         time.Time             `json:"date"`
	Reason       string                `json:"reason"`
	Indexes      map[string][]chunkRef `json:"indexes"`
	Files        map[string]checksums  `json:"files"`
	// Absent names files Release lists that are not published (the
	// uncompressed form of large indexes).
	Absent map[string]bool `json:"absent,omitempty"`
	// unchanged marks the current manifest returned for a change that
	// published nothing.
	unchanged bool
}

func (r *Repo) manifestPath(dist string, n int) string {
	return filepath.Join(r.generationsDir(dist), strconv.Itoa(n)+".json")
}

func (r *Repo) genDir(dist string, n int) string {
	return filepath.Join(r.generationsDir(dist), strconv.Itoa(n))
}

// loadManifest reads generation n of dist.
func (r *Repo) loadManifest(dist string, n int) (*manifest, error) {
	data, err := os.ReadFile(r.manifestPath(dist, n))
	if err != nil {
		return nil, fmt.Errorf("reading generation %d of %s: %w", n, dist, err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("reading generation %d of %s: %w", n, dist, err)
	}
	return &m, nil
}

func (r *Repo) saveManifest(m *manifest, ss *syncSet) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return writeFileDeferred(r.manifestPath(m.Distribution, m.Generation), data, ss)
}

// generations lists the generation numbers of dist that have a manifest,
// ascending.
func (r *Repo) generations(dist string) ([]int, error) {
	ents, err := os.ReadDir(r.generationsDir(dist))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(name); err == nil {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out, nil
}

// byHashPaths returns the by-hash paths of every file in files.
func byHashPaths(files map[string]checksums, absent map[string]bool) map[string]string {
	out := map[string]string{} // by-hash path -> file it is a copy of
	for p, s := range files {
		if absent[p] {
			continue
		}
		dir := p[:strings.LastIndexByte(p, '/')]
		for _, h := range byHashDirs {
			out[dir+"/by-hash/"+h+"/"+s.hash(h)] = p
		}
	}
	return out
}

// hash returns the digest named by a Release field (MD5Sum, SHA256, SHA512).
func (c checksums) hash(name string) string {
	switch name {
	case "MD5Sum":
		return c.MD5
	case "SHA256":
		return c.SHA256
	case "SHA512":
		return c.SHA512
	}
	return ""
}

func (r *Repo) checkpointsPath(dist string, n int) string {
	return filepath.Join(r.generationsDir(dist), strconv.Itoa(n)+".ckpt")
}

// saveCheckpoints writes the index-file checkpoints of generation n.
func (r *Repo) saveCheckpoints(dist string, n int, cks map[string][]checkpoint, ss *syncSet) error {
	data, err := json.Marshal(cks)
	if err != nil {
		return err
	}
	return writeFileDeferred(r.checkpointsPath(dist, n), data, ss)
}

// loadCheckpoints reads the checkpoints of generation n, or nil.
func (r *Repo) loadCheckpoints(dist string, n int) map[string][]checkpoint {
	data, err := os.ReadFile(r.checkpointsPath(dist, n))
	if err != nil {
		return nil
	}
	var cks map[string][]checkpoint
	if json.Unmarshal(data, &cks) != nil {
		return nil
	}
	return cks
}
