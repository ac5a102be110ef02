package archive

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/deb822"
)

// DefaultKeyring is the keyring used for an apt source without Signed-By,
// when it exists (package debian-archive-keyring).
const DefaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// aptSource is one deb entry of apt's sources, before grouping.
type aptSource struct {
	uri        string
	suites     []string
	components []string
	arches     []string
	signedBy   string
}

// ParseAptSources reads the machine's apt sources under root (the
// filesystem root, "/" on a live system): etc/apt/sources.list and
// etc/apt/sources.list.d/*.list in the one-line format, and
// etc/apt/sources.list.d/*.sources in the deb822 format (sources.list(5)).
// Files with any other suffix are ignored, as apt ignores them.
//
// Only "deb" entries are kept (deb-src entries name the same mirrors; their
// Sources indexes are read regardless). Disabled stanzas (Enabled: no) and
// flat repositories (a suite ending in "/") are skipped. Entries with the
// same URI, components, architectures and keyring are merged into one
// archive with their suites in order. Each archive is named after the last
// element of its URI path ("debian", "debian-security"), made unique with a
// numeric suffix. Entries with a URI scheme packyard cannot fetch (cdrom:,
// mirror+http:, tor+http:) are skipped. SignedBy is the entry's Signed-By (a keyring path, or an
// inline armored key block), else DefaultKeyring below root if present.
// Architectures stay empty when the entry names none.
func ParseAptSources(root string) ([]config.Archive, error) {
	var files []string
	if list := filepath.Join(root, "etc/apt/sources.list"); exists(list) {
		files = append(files, list)
	}
	dir := filepath.Join(root, "etc/apt/sources.list.d")
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading apt sources: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, ".list") || strings.HasSuffix(n, ".sources")) {
			files = append(files, filepath.Join(dir, n))
		}
	}
	sort.Strings(files[min(1, len(files)):]) // sources.list first, then by name
	var all []aptSource
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading apt sources: %w", err)
		}
		var srcs []aptSource
		if strings.HasSuffix(f, ".sources") {
			srcs, err = parseDeb822Sources(data)
		} else {
			srcs, err = parseOneLineSources(data)
		}
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", f, err)
		}
		all = append(all, srcs...)
	}
	defaultKeyring := ""
	if k := filepath.Join(root, DefaultKeyring); exists(k) {
		defaultKeyring = k
	}
	return groupSources(all, defaultKeyring), nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// parseOneLineSources parses the one-line format:
// deb [opt=val opt=v1,v2] uri suite [component...]
func parseOneLineSources(data []byte) ([]aptSource, error) {
	var out []aptSource
	for i, line := range strings.Split(string(data), "\n") {
		if c := strings.IndexByte(line, '#'); c >= 0 {
			line = line[:c]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		typ, rest, _ := strings.Cut(line, " ")
		if typ != "deb" && typ != "deb-src" {
			return nil, fmt.Errorf("line %d: unknown type %q", i+1, typ)
		}
		var opts string
		rest = strings.TrimSpace(rest)
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("line %d: unterminated option list", i+1)
			}
			opts, rest = rest[1:end], rest[end+1:]
		}
		words := strings.Fields(rest)
		if len(words) < 2 {
			return nil, fmt.Errorf("line %d: want a URI and a suite", i+1)
		}
		if typ != "deb" {
			continue
		}
		s := aptSource{uri: words[0], suites: words[1:2], components: words[2:]}
		for _, o := range strings.Fields(opts) {
			k, v, _ := strings.Cut(o, "=")
			switch strings.TrimSuffix(k, "+") {
			case "signed-by":
				s.signedBy = v
			case "arch":
				s.arches = strings.Split(v, ",")
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// parseDeb822Sources parses the deb822 format of sources.list(5).
func parseDeb822Sources(data []byte) ([]aptSource, error) {
	ps, err := deb822.ParseAll(data)
	if err != nil {
		return nil, err
	}
	var out []aptSource
	for _, p := range ps {
		if strings.EqualFold(p.Get("Enabled"), "no") {
			continue
		}
		if !slices.Contains(strings.Fields(p.Get("Types")), "deb") {
			continue
		}
		uris := strings.Fields(p.Get("URIs"))
		suites := strings.Fields(p.Get("Suites"))
		if len(uris) == 0 || len(suites) == 0 {
			return nil, fmt.Errorf("line %d: stanza needs URIs and Suites", p.Line)
		}
		signedBy := strings.TrimSpace(p.Get("Signed-By"))
		if strings.Contains(signedBy, "\n") {
			// An inline key block: Policy-style continuation lines.
			signedBy = strings.TrimSpace(strings.Join(deb822.Lines(signedBy), "\n"))
		}
		for _, u := range uris {
			out = append(out, aptSource{
				uri:        u,
				suites:     suites,
				components: fields(p.Get("Components")),
				arches:     fields(p.Get("Architectures")),
				signedBy:   signedBy,
			})
		}
	}
	return out, nil
}

// fields is strings.Fields with nil for no fields.
func fields(s string) []string {
	if f := strings.Fields(s); len(f) > 0 {
		return f
	}
	return nil
}

// groupSources merges entries into archives and names them.
func groupSources(srcs []aptSource, defaultKeyring string) []config.Archive {
	var out []config.Archive
	index := map[string]int{}
	names := map[string]bool{}
	for _, s := range srcs {
		s.uri = strings.TrimRight(s.uri, "/")
		if !fetchable(s.uri) {
			continue
		}
		var suites []string
		for _, su := range s.suites {
			if !strings.HasSuffix(su, "/") {
				suites = append(suites, su)
			}
		}
		if len(suites) == 0 {
			continue
		}
		if s.signedBy == "" {
			s.signedBy = defaultKeyring
		}
		key := strings.Join([]string{s.uri, strings.Join(s.components, " "), strings.Join(s.arches, " "), s.signedBy}, "\x00")
		if i, ok := index[key]; ok {
			for _, su := range suites {
				if !slices.Contains(out[i].Suites, su) {
					out[i].Suites = append(out[i].Suites, su)
				}
			}
			continue
		}
		name := uniqueName(archiveName(s.uri), names)
		index[key] = len(out)
		out = append(out, config.Archive{
			Name:          name,
			URI:           s.uri,
			Suites:        suites,
			Components:    s.components,
			Architectures: s.arches,
			SignedBy:      s.signedBy,
		})
	}
	return out
}

// fetchable reports whether packyard can fetch from uri: http, https and
// file URIs (not cdrom:, mirror+, tor+ and other apt methods).
func fetchable(uri string) bool {
	return strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://") || strings.HasPrefix(uri, "file:/")
}

// archiveName derives a name from a mirror URI: the last path element, or
// the host for a URI without a path.
func archiveName(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "archive"
	}
	name := path.Base(strings.TrimRight(u.Path, "/"))
	if name == "." || name == "/" || name == "" {
		name = u.Hostname()
	}
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' {
			return '-'
		}
		return r
	}, name)
	if name == "" {
		name = "archive"
	}
	return name
}

func uniqueName(base string, used map[string]bool) string {
	name := base
	for i := 2; used[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	used[name] = true
	return name
}
