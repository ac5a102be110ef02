package archive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"pault.ag/go/debian/version"

	"github.com/packyard/packyard/internal/deb822"
)

// ErrMissing is wrapped by *MissingError.
var ErrMissing = errors.New("needed for an offline build but not cached")

// MissingError lists what an offline operation needs and does not have,
// each with the command that would fetch it.
type MissingError struct {
	// Items are the missing files or packages, one line each.
	Items []string
	// Command fetches them while online ("packyard prime hello").
	Command string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%d items missing for offline work (fetch them online with: %s):\n  %s",
		len(e.Items), e.Command, strings.Join(e.Items, "\n  "))
}

func (e *MissingError) Unwrap() error { return ErrMissing }

// PackageID names a binary package; an empty Version means the newest.
type PackageID struct {
	Package      string `json:"package"`
	Version      string `json:"version,omitempty"`
	Architecture string `json:"architecture"` // amd64, all, ...
}

// DebRef is a binary package resolved to a file on a mirror, with the size
// and SHA256 from the signed Packages index.
type DebRef struct {
	PackageID
	Archive  string `json:"archive"`
	Suite    string `json:"suite"`
	URI      string `json:"uri"`
	Filename string `json:"filename"` // pool path relative to URI
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	// Paragraph is the whole Packages stanza.
	Paragraph deb822.Paragraph `json:"-"`
}

// CacheName is the file name apt gives the .deb in /var/cache/apt/archives
// (package_version_arch.deb with ':' escaped as %3a), so a cache directory
// filled by FetchDebs can be bound there and apt installs from it.
func (d DebRef) CacheName() string {
	return d.Package + "_" + strings.ReplaceAll(d.Version, ":", "%3a") + "_" + d.Architecture + ".deb"
}

// ResolveDebs finds each package in the Packages indexes of arch (which
// also list the arch "all" packages) over every configured archive and
// suite: the given version, or the newest. Packages found nowhere give a
// *MissingError naming them, with the rest still resolved.
func (p *Pantry) ResolveDebs(arch string, pkgs []PackageID) ([]DebRef, error) {
	idx, err := p.LoadIndex(Selection{Architectures: []string{arch}, NoSources: true})
	if err != nil {
		return nil, err
	}
	want := map[string][]int{}
	for i, id := range pkgs {
		want[id.Package] = append(want[id.Package], i)
	}
	best := make([]*DebRef, len(pkgs))
	for _, d := range idx.Packages {
		a := p.archive(d.Archive)
		for _, para := range d.Paragraphs {
			for _, i := range want[para.Get("Package")] {
				if err := consider(&best[i], pkgs[i], para, d, a.URI); err != nil {
					return nil, err
				}
			}
		}
	}
	var out []DebRef
	var missing []string
	for i, b := range best {
		if b == nil {
			missing = append(missing, fmt.Sprintf("%s %s (%s): not in any configured Packages index", pkgs[i].Package, pkgs[i].Version, arch))
			continue
		}
		out = append(out, *b)
	}
	if len(missing) > 0 {
		return out, &MissingError{Items: missing, Command: "packyard refresh"}
	}
	return out, nil
}

// consider replaces *best with para when it matches id better.
func consider(best **DebRef, id PackageID, para deb822.Paragraph, d *IndexData, uri string) error {
	v := para.Get("Version")
	if id.Version != "" && v != id.Version {
		return nil
	}
	pa := para.Get("Architecture")
	if id.Architecture != "" && pa != id.Architecture {
		return nil
	}
	if *best != nil && version.Compare(mustVersion(v), mustVersion((*best).Version)) <= 0 {
		return nil
	}
	ref, err := debRef(para, d, uri)
	if err != nil {
		return fmt.Errorf("%s %s in %s %s: %w", id.Package, v, d.Archive, d.Suite, err)
	}
	*best = ref
	return nil
}

func debRef(para deb822.Paragraph, d *IndexData, uri string) (*DebRef, error) {
	ref := &DebRef{
		PackageID: PackageID{Package: para.Get("Package"), Version: para.Get("Version"), Architecture: para.Get("Architecture")},
		Archive:   d.Archive, Suite: d.Suite, URI: uri, Filename: para.Get("Filename"),
		SHA256: strings.ToLower(para.Get("SHA256")), Paragraph: para,
	}
	size, err := strconv.ParseInt(para.Get("Size"), 10, 64)
	if err != nil || size < 0 {
		return nil, fmt.Errorf("bad Size %q", para.Get("Size"))
	}
	ref.Size = size
	if !isHexSHA256(ref.SHA256) {
		return nil, fmt.Errorf("bad SHA256 %q", ref.SHA256)
	}
	if err := safeDirectory(path.Dir(ref.Filename)); err != nil {
		return nil, fmt.Errorf("Filename %q: %w", ref.Filename, err)
	}
	if err := safeFileName(path.Base(ref.Filename)); err != nil || !strings.HasSuffix(ref.Filename, "deb") {
		return nil, fmt.Errorf("unsafe Filename %q", ref.Filename)
	}
	if err := safeFileName(strings.ReplaceAll(ref.CacheName(), "%3a", ":")); err != nil || strings.Count(ref.CacheName(), "_") != 2 {
		return nil, fmt.Errorf("unsafe package name, version or architecture in %q", ref.CacheName())
	}
	return ref, nil
}

// FetchDebs downloads debs into cacheDir under their CacheName, in
// parallel, each checked for size and SHA256 against its Packages stanza
// and renamed into place only when verified. Files already present and
// verified are kept. It returns the paths in the order of debs.
func (p *Pantry) FetchDebs(ctx context.Context, debs []DebRef, cacheDir string, progress Progress) ([]string, error) {
	if err := os.MkdirAll(filepath.Join(cacheDir, "partial"), 0o755); err != nil {
		return nil, fmt.Errorf("creating package cache: %w", err)
	}
	paths := make([]string, len(debs))
	errs := make([]error, len(debs))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, d := range debs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			paths[i], errs[i] = p.fetchDeb(ctx, d, cacheDir, progress)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return paths, nil
}

func (p *Pantry) fetchDeb(ctx context.Context, d DebRef, cacheDir string, progress Progress) (string, error) {
	dst := filepath.Join(cacheDir, d.CacheName())
	f := FileRef{Name: d.CacheName(), Size: d.Size, SHA256: d.SHA256}
	if fileMatches(dst, f) {
		return dst, nil
	}
	// apt's own partial/ directory: apt ignores files there.
	tmp := filepath.Join(cacheDir, "partial", d.CacheName()+".packyard-"+randHex())
	var add func(int)
	if progress != nil {
		var done func()
		add, done = progress.Start(d.Package+" "+d.Version, d.Size)
		defer done()
	}
	url := strings.TrimRight(d.URI, "/") + "/" + d.Filename
	if err := p.client.download(ctx, url, tmp, d.Size, d.SHA256, "Packages", add); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("storing %s: %w", d.CacheName(), err)
	}
	return dst, nil
}

// MissingDebs returns the debs that cacheDir lacks (by name and size; with
// verify also by SHA256), for the offline check before a build.
func MissingDebs(debs []DebRef, cacheDir string, verify bool) []DebRef {
	var out []DebRef
	for _, d := range debs {
		p := filepath.Join(cacheDir, d.CacheName())
		fi, err := os.Stat(p)
		ok := err == nil && fi.Size() == d.Size
		if ok && verify {
			ok = fileMatches(p, FileRef{Size: d.Size, SHA256: d.SHA256})
		}
		if !ok {
			out = append(out, d)
		}
	}
	return out
}

// CheckDebsCached is MissingDebs as an error for the offline check before
// a build: a *MissingError naming each missing cache file, with command
// (for example "packyard prime hello") as the way to fetch them.
func CheckDebsCached(debs []DebRef, cacheDir string, verify bool, command string) error {
	missing := MissingDebs(debs, cacheDir, verify)
	if len(missing) == 0 {
		return nil
	}
	items := make([]string, len(missing))
	for i, d := range missing {
		items[i] = filepath.Join(cacheDir, d.CacheName())
	}
	return &MissingError{Items: items, Command: command}
}

// CheckSourceCached reports, without network, whether destDir holds every
// file of ref with the right size and SHA256 (as FetchSource leaves it). A
// gap gives a *MissingError naming each file and the command to fetch it.
func CheckSourceCached(ref *SourceRef, destDir string) error {
	var missing []string
	for _, f := range ref.Files {
		if !fileMatches(filepath.Join(destDir, f.Name), f) {
			missing = append(missing, filepath.Join(destDir, f.Name))
		}
	}
	if len(missing) > 0 {
		return &MissingError{Items: missing, Command: "packyard prime " + ref.Package}
	}
	return nil
}

// AptListName is the file name apt gives a downloaded index in
// /var/lib/apt/lists: the URL without its scheme, with '/' as '_'.
func AptListName(uri, suite, rel string) string {
	u := distsURL(uri, suite, rel)
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	u = strings.TrimPrefix(u, "/") // file:/ URIs
	return strings.ReplaceAll(u, "/", "_")
}

// WriteAptLists copies the pantry's verified InRelease and uncompressed
// indexes of the suites in sel into listsDir under apt's names, so apt in a
// build environment whose sources name the same mirrors can install
// without "apt-get update" (offline). It returns the files written.
func (p *Pantry) WriteAptLists(listsDir string, sel Selection) ([]string, error) {
	if err := os.MkdirAll(listsDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating apt lists: %w", err)
	}
	var written []string
	for _, a := range p.cfg.Archives {
		if !sel.has(sel.Archives, a.Name) {
			continue
		}
		for _, suite := range a.Suites {
			if !sel.has(sel.Suites, suite) {
				continue
			}
			dir := p.generation(a.Name, suite)
			meta, err := readMeta(dir)
			if err != nil {
				return nil, err
			}
			files := []string{"InRelease"}
			if meta.Detached {
				files = []string{"Release", "Release.gpg"}
			}
			for _, im := range meta.Indexes {
				if !im.Absent && sel.has(sel.Components, im.Component) && (im.Architecture == "source" && !sel.NoSources ||
					im.Architecture != "source" && !sel.NoPackages && sel.has(sel.Architectures, im.Architecture)) {
					files = append(files, im.Path)
				}
			}
			sort.Strings(files)
			for _, f := range files {
				dst := filepath.Join(listsDir, AptListName(a.URI, suite, f))
				if err := copyAtomic(filepath.Join(dir, f), dst); err != nil {
					return nil, err
				}
				written = append(written, dst)
			}
		}
	}
	return written, nil
}

func copyAtomic(src, dst string) error {
	tmp := dst + ".packyard-" + randHex()
	if err := linkOrCopy(src, tmp); err != nil {
		return fmt.Errorf("copying %s: %w", filepath.Base(src), err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copying %s: %w", filepath.Base(src), err)
	}
	return nil
}
