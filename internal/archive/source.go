package archive

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"pault.ag/go/debian/version"

	"github.com/packyard/packyard/internal/deb822"
)

// SourceRef is one source package version found in a pantry Sources index,
// with everything needed to fetch and verify it.
type SourceRef struct {
	Package   string `json:"package"`
	Version   string `json:"version"`
	Archive   string `json:"archive"`
	URI       string `json:"uri"`
	Suite     string `json:"suite"`
	Component string `json:"component"`
	// Directory is the pool directory relative to URI (Sources "Directory").
	Directory string `json:"directory"`
	// Files are the .dsc and the files it lists, with the size and SHA256
	// from the signed Sources index (Checksums-Sha256).
	Files []FileRef `json:"files"`
	// Paragraph is the whole Sources stanza.
	Paragraph deb822.Paragraph `json:"-"`
}

// FileRef is a file name with its size and SHA256.
type FileRef struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// DSC returns the .dsc entry of Files.
func (r *SourceRef) DSC() (FileRef, bool) {
	for _, f := range r.Files {
		if strings.HasSuffix(f.Name, ".dsc") {
			return f, true
		}
	}
	return FileRef{}, false
}

// FindSource returns the newest version (Debian version order) of source
// package name in the Sources indexes of every configured archive, suite
// and component. Among equal versions the first configured wins. A name in
// no index gives *NotFoundError (wrapping ErrSourceNotFound).
func (p *Pantry) FindSource(name string) (*SourceRef, error) {
	refs, err := p.FindSourceAll(name)
	if err != nil {
		return nil, err
	}
	best := refs[0]
	for _, r := range refs[1:] {
		if version.Compare(mustVersion(r.Version), mustVersion(best.Version)) > 0 {
			best = r
		}
	}
	return best, nil
}

// FindSourceAll returns every version of source package name in the
// configured Sources indexes, in configuration order.
func (p *Pantry) FindSourceAll(name string) ([]*SourceRef, error) {
	nf := &NotFoundError{Name: name}
	var refs []*SourceRef
	var indexes [][]byte
	for _, a := range p.cfg.Archives {
		for _, suite := range a.Suites {
			for _, comp := range a.Components {
				file := filepath.Join(p.SuiteDir(a.Name, suite), indexPath(comp, "source"))
				data, err := p.readGenFile(a.Name, suite, indexPath(comp, "source"))
				if errors.Is(err, os.ErrNotExist) {
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("reading pantry: %w", err)
				}
				nf.Searched = append(nf.Searched, a.Name+"/"+suite+"/"+comp)
				indexes = append(indexes, data)
				paras, err := findStanzas(data, "Package", name)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", file, err)
				}
				for _, para := range paras {
					ref, err := sourceRef(para)
					if err != nil {
						return nil, fmt.Errorf("%s: %s %s: %w", file, name, para.Get("Version"), err)
					}
					ref.Archive, ref.URI, ref.Suite, ref.Component = a.Name, a.URI, suite, comp
					refs = append(refs, ref)
				}
			}
		}
	}
	if len(refs) == 0 {
		nf.BuiltBy = sourcesBuilding(indexes, name)
		return nil, nf
	}
	return refs, nil
}

// sourcesBuilding returns the source packages whose Binary field lists the
// binary package name, for a helpful not-found message.
func sourcesBuilding(indexes [][]byte, name string) []string {
	var out []string
	for _, data := range indexes {
		if !bytes.Contains(data, []byte(name)) {
			continue
		}
		_ = deb822.Scan(data, func(p deb822.Paragraph) error {
			for _, b := range strings.Split(p.Get("Binary"), ",") {
				if strings.TrimSpace(b) == name && !slices.Contains(out, p.Get("Package")) {
					out = append(out, p.Get("Package"))
				}
			}
			return nil
		})
	}
	return out
}

func mustVersion(s string) version.Version {
	v, err := version.Parse(s)
	if err != nil {
		return version.Version{Version: s}
	}
	return v
}

// findStanzas returns the paragraphs of data whose field is value, finding
// candidates with a byte search instead of parsing the whole index.
func findStanzas(data []byte, field, value string) ([]deb822.Paragraph, error) {
	needle := []byte("\n" + field + ": " + value + "\n")
	var out []deb822.Paragraph
	for off := 0; ; {
		var at int // start of the matching line
		if off == 0 && bytes.HasPrefix(data, needle[1:]) {
			at = 0
		} else if i := bytes.Index(data[off:], needle); i >= 0 {
			at = off + i + 1
		} else {
			return out, nil
		}
		start := 0 // the paragraph starts after the last blank line before at
		if i := bytes.LastIndex(data[:at], []byte("\n\n")); i >= 0 {
			start = i + 2
		}
		end := bytes.Index(data[at:], []byte("\n\n"))
		if end < 0 {
			end = len(data)
		} else {
			end += at + 1
		}
		p, err := deb822.ParseFirst(data[start:end])
		if err != nil {
			return nil, err
		}
		out = append(out, p)
		off = max(end, at+1)
	}
}

// sourceRef builds a SourceRef from a Sources stanza, rejecting unsafe
// directory and file names.
func sourceRef(p deb822.Paragraph) (*SourceRef, error) {
	ref := &SourceRef{Package: p.Get("Package"), Version: p.Get("Version"), Directory: p.Get("Directory"), Paragraph: p}
	if _, err := version.Parse(ref.Version); err != nil {
		return nil, fmt.Errorf("bad Version: %w", err)
	}
	if err := safeDirectory(ref.Directory); err != nil {
		return nil, err
	}
	files, err := parseChecksums(p.Get("Checksums-Sha256"))
	if err != nil {
		return nil, fmt.Errorf("Checksums-Sha256: %w", err)
	}
	if len(files) == 0 {
		return nil, errors.New("no Checksums-Sha256")
	}
	ref.Files = files
	if _, ok := ref.DSC(); !ok {
		return nil, errors.New("no .dsc in Checksums-Sha256")
	}
	return ref, nil
}

// parseChecksums parses a Checksums-Sha256 value: lines of
// "<sha256> <size> <name>".
func parseChecksums(v string) ([]FileRef, error) {
	var out []FileRef
	seen := map[string]bool{}
	for _, line := range deb822.Lines(v)[1:] {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 || !isHexSHA256(f[0]) {
			return nil, fmt.Errorf("bad line %q", line)
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("bad size in %q", line)
		}
		if err := safeFileName(f[2]); err != nil {
			return nil, err
		}
		if seen[f[2]] {
			return nil, fmt.Errorf("file %q listed twice", f[2])
		}
		seen[f[2]] = true
		out = append(out, FileRef{Name: f[2], Size: size, SHA256: strings.ToLower(f[0])})
	}
	return out, nil
}

// safeFileName accepts the file names Policy §5.6.21 allows in a source
// package: no directory parts, no leading dot or dash.
func safeFileName(name string) error {
	if name == "" || len(name) > 255 || name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("unsafe file name %q", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("+-.:_~", c) >= 0) {
			return fmt.Errorf("unsafe file name %q", name)
		}
	}
	return nil
}

// safeDirectory accepts a relative pool directory with safe elements.
func safeDirectory(dir string) error {
	if dir == "" || strings.HasPrefix(dir, "/") || path.Clean(dir) != dir {
		return fmt.Errorf("unsafe Directory %q", dir)
	}
	for _, el := range strings.Split(dir, "/") {
		if err := safeFileName(el); err != nil {
			return fmt.Errorf("unsafe Directory %q", dir)
		}
	}
	return nil
}
