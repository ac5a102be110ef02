package build

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/therootcompany/xz"

	"github.com/packyard/packyard/internal/deb822"
	"github.com/packyard/packyard/internal/env"
)

// A build with extra repositories (packyard's own, once something is
// published) resolves its build-dependencies against them too. Keying the
// layer index on their whole state would make every publish, of any
// package, send every later build back to apt (seconds of cache building
// and resolving). Instead the index records a digest of only the extra
// repositories' packages that the resolution could have touched, and a
// lookup is valid while that digest is unchanged.
//
// apt-get build-dep reaches a package only through a relation: a
// build-dependency, or a Depends/Pre-Depends of a package it installs or
// keeps, or by a package offering one of those names (Provides). So the
// names that matter are those of the build-dependency relations, plus the
// names and relation targets of every package installed in the
// environment with the layer (relevantNames); an extra-repository stanza
// matters when its Package or one of its Provides is such a name. Conflicts
// and Breaks targets are included too, which only makes the digest change
// more often than needed.

// extraLines checks that every extra repository is a local file: one
// (whose state can be read without the network) and returns a hash of the
// lines themselves for the index key; ok is false otherwise.
func extraLines(lines []string) (state string, ok bool) {
	h := sha256.New()
	for _, l := range lines {
		root, _, _, ok := parseFileRepository(l)
		if !ok || root == "" {
			return "", false
		}
		fmt.Fprintf(h, "%s\n", l)
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// parseFileRepository splits a one-line apt source "deb [opts] file:/root
// dist [components...]" (sources.list(5)).
func parseFileRepository(line string) (root, dist string, components []string, ok bool) {
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != "deb" {
		return "", "", nil, false
	}
	i := 1
	if strings.HasPrefix(f[i], "[") {
		for i < len(f) && !strings.HasSuffix(f[i], "]") {
			i++
		}
		i++
	}
	if i+1 >= len(f) || !strings.HasPrefix(f[i], "file:") {
		return "", "", nil, false
	}
	return strings.TrimPrefix(f[i], "file:"), f[i+1], f[i+2:], true
}

// extraPackages reads the binary package stanzas of the extra
// repositories for arch (binary-<arch> and binary-all of every component,
// or a flat repository's Packages). Missing indexes count as empty; ok is
// false when a line is not a file: repository or an index cannot be read.
func extraPackages(lines []string, arch string) (stanzas []deb822.Paragraph, ok bool) {
	for _, l := range lines {
		root, dist, comps, fileRepo := parseFileRepository(l)
		if !fileRepo {
			return nil, false
		}
		var dirs []string
		if strings.HasSuffix(dist, "/") {
			dirs = []string{filepath.Join(root, dist)}
		}
		for _, c := range comps {
			for _, a := range []string{arch, "all"} {
				dirs = append(dirs, filepath.Join(root, "dists", dist, c, "binary-"+a))
			}
		}
		for _, d := range dirs {
			data, err := readPackagesIndex(d)
			if err != nil {
				return nil, false
			}
			err = deb822.Scan(data, func(p deb822.Paragraph) error {
				stanzas = append(stanzas, p)
				return nil
			})
			if err != nil {
				return nil, false
			}
		}
	}
	return stanzas, true
}

// readPackagesIndex reads dir/Packages, else Packages.gz, else
// Packages.xz; none of them is an empty index.
func readPackagesIndex(dir string) ([]byte, error) {
	for _, name := range []string{"Packages", "Packages.gz", "Packages.xz"} {
		f, err := os.Open(filepath.Join(dir, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading extra repository index: %w", err)
		}
		defer f.Close()
		var r io.Reader = f
		switch filepath.Ext(name) {
		case ".gz":
			z, err := gzip.NewReader(f)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", name, err)
			}
			r = z
		case ".xz":
			z, err := xz.NewReader(f, 0)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", name, err)
			}
			r = z
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		return data, nil
	}
	return nil, nil
}

// relationFields are the fields of installed packages whose targets a
// resolution can reach (or that could make a newly offered package
// matter).
var relationFields = []string{"Depends", "Pre-Depends", "Provides", "Conflicts", "Breaks"}

// relevantNames returns the package names a build-dependency resolution
// can touch: those named in relations (the build-dependency fields) and,
// for every installed package of status (a dpkg status file), its name and
// the names in its relationFields.
func relevantNames(relations map[string]string, status []byte) (map[string]bool, error) {
	names := map[string]bool{}
	for _, v := range relations {
		addRelationNames(names, v)
	}
	err := deb822.Scan(status, func(p deb822.Paragraph) error {
		if !strings.HasSuffix(p.Get("Status"), " installed") {
			return nil
		}
		names[p.Get("Package")] = true
		for _, f := range relationFields {
			addRelationNames(names, p.Get(f))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading dpkg status: %w", err)
	}
	return names, nil
}

// addRelationNames adds the package names of a relation field (Debian
// Policy §7.1): "a (>= 1) [amd64] <!nocheck> | b:any, c".
func addRelationNames(names map[string]bool, field string) {
	for _, alt := range strings.FieldsFunc(field, func(r rune) bool { return r == ',' || r == '|' }) {
		name := strings.TrimSpace(alt)
		if i := strings.IndexAny(name, " \t\n([<"); i >= 0 {
			name = name[:i]
		}
		name, _, _ = strings.Cut(name, ":")
		if name != "" {
			names[name] = true
		}
	}
}

// extraDigest hashes the stanzas whose Package or a Provides name is in
// names, in sorted order.
func extraDigest(stanzas []deb822.Paragraph, names map[string]bool) string {
	var kept []string
	for _, p := range stanzas {
		offered := map[string]bool{p.Get("Package"): true}
		addRelationNames(offered, p.Get("Provides"))
		for n := range offered {
			if names[n] {
				kept = append(kept, p.String())
				break
			}
		}
	}
	sort.Strings(kept)
	h := sha256.New()
	fmt.Fprintf(h, "packyard-extra-digest-v1\n")
	for _, s := range kept {
		fmt.Fprintf(h, "%s\n", s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// depIndex is one job's view of the layer index: its key and, with extra
// repositories, their stanzas as read before apt saw them.
type depIndex struct {
	key       string
	indexable bool
	relations map[string]string
	hasExtra  bool
	extra     []deb822.Paragraph
}

// newDepIndex computes the index key of a build of r whose
// debian/control is control.
func newDepIndex(e *env.Env, r Request, control []byte) *depIndex {
	ix := &depIndex{relations: BuildDepRelations(control), indexable: true}
	state := ""
	if len(r.ExtraRepositories) > 0 {
		ix.hasExtra = true
		state, ix.indexable = extraLines(r.ExtraRepositories)
		if ix.indexable {
			ix.extra, ix.indexable = extraPackages(r.ExtraRepositories, e.Architecture)
		}
	}
	ix.key = LayerIndexKey(e.Manifest.StatusSHA256+"@"+e.Manifest.Created.String(), ix.relations, r, state)
	return ix
}

// lookup returns the indexed layer, if there is one and the extra
// repositories still offer the same relevant packages as when it was
// recorded.
func (ix *depIndex) lookup(e *env.Env) (*env.Layer, bool) {
	if !ix.indexable {
		return nil, false
	}
	hash, extra, ok := e.LayerIndexRecord(ix.key)
	if !ok {
		return nil, false
	}
	l, err := e.Layer(hash)
	if err != nil {
		return nil, false
	}
	if ix.hasExtra {
		if d, err := ix.digest(e, l); err != nil || d != extra {
			return nil, false
		}
	}
	return l, true
}

// record notes that the job's inputs resolved to l.
func (ix *depIndex) record(e *env.Env, l *env.Layer) {
	if !ix.indexable {
		return
	}
	extra := ""
	if ix.hasExtra {
		d, err := ix.digest(e, l)
		if err != nil {
			return
		}
		extra = d
	}
	_ = e.SetLayerIndexRecord(ix.key, l.Manifest.Hash, extra)
}

// digest is extraDigest over the names relevant with l installed (its
// dpkg status holds the environment's packages and the layer's).
func (ix *depIndex) digest(e *env.Env, l *env.Layer) (string, error) {
	status, err := os.ReadFile(filepath.Join(l.Root, "var/lib/dpkg/status"))
	if err != nil {
		status, err = os.ReadFile(filepath.Join(e.Root, "var/lib/dpkg/status"))
	}
	if err != nil {
		return "", fmt.Errorf("reading dpkg status: %w", err)
	}
	names, err := relevantNames(ix.relations, status)
	if err != nil {
		return "", err
	}
	return extraDigest(ix.extra, names), nil
}
