package archive

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/run"
)

// Pantry is the on-disk cache of upstream archive indexes:
//
//	<pantry>/<archive>/<suite>               symlink to the current generation
//	<pantry>/<archive>/.gen/<suite>.<id>/    InRelease, Release, meta.json,
//	                                         <comp>/source/Sources,
//	                                         <comp>/binary-<arch>/Packages
//
// A refresh builds a new generation next to the current one and swaps the
// symlink, so readers always see one consistent InRelease and its indexes,
// and a killed refresh leaves the previous generation in place.
type Pantry struct {
	dir    string
	cfg    *config.Config
	logger *slog.Logger
	client *Client
}

// OpenPantry returns the pantry of cfg's workspace. It does not need the
// pantry to exist yet. The pantry's client is offline when cfg.Offline is.
func OpenPantry(cfg *config.Config, logger *slog.Logger) (*Pantry, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Pantry{dir: cfg.WorkspaceDir().Pantry(), cfg: cfg, logger: logger, client: NewClient(cfg.Offline)}, nil
}

func (p *Pantry) runner() *run.Runner { return run.New(p.logger) }

// Dir returns the pantry directory.
func (p *Pantry) Dir() string { return p.dir }

// SetClient replaces the HTTP client (tests, or a caller forcing offline).
func (p *Pantry) SetClient(c *Client) { p.client = c }

// SuiteMeta is meta.json of one suite generation: where and when its files
// came from and what they hash to.
type SuiteMeta struct {
	Archive         string    `json:"archive"`
	URI             string    `json:"uri"`
	Suite           string    `json:"suite"`
	Codename        string    `json:"codename"`
	InReleaseURL    string    `json:"inrelease_url"`
	InReleaseSHA256 string    `json:"inrelease_sha256"`
	InReleaseSize   int64     `json:"inrelease_size"`
	ETag            string    `json:"etag,omitempty"`
	LastModified    string    `json:"last_modified,omitempty"`
	Signer          string    `json:"signer"`
	Date            time.Time `json:"date"`
	ValidUntil      time.Time `json:"valid_until,omitzero"`
	AcquireByHash   bool      `json:"acquire_by_hash"`
	// Detached is true for an archive without InRelease: the generation
	// holds Release and Release.gpg, and InRelease* fields describe Release.
	Detached bool `json:"detached,omitempty"`
	// Fetched is when this generation's InRelease was downloaded; Checked is
	// the last time the mirror was asked (the TTL counts from it).
	Fetched time.Time   `json:"fetched"`
	Checked time.Time   `json:"checked"`
	Indexes []IndexMeta `json:"indexes"`
}

// IndexMeta describes one stored, uncompressed index.
type IndexMeta struct {
	Component string `json:"component"`
	// Architecture is "source" for a Sources index.
	Architecture string `json:"architecture"`
	// Path is relative to the suite directory and to dists/<suite>/ on the
	// mirror, e.g. "main/binary-amd64/Packages".
	Path       string    `json:"path"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	URL        string    `json:"url,omitempty"`
	Downloaded FileHash  `json:"downloaded"`
	Fetched    time.Time `json:"fetched"`
	Stanzas    int       `json:"stanzas"`
	// Absent marks a Sources index the archive does not publish (many
	// third-party archives have binaries only); it is not an error.
	Absent bool `json:"absent,omitempty"`
}

// indexPath returns the Release-relative path of an index.
func indexPath(component, arch string) string {
	if arch == "source" {
		return component + "/source/Sources"
	}
	return component + "/binary-" + arch + "/Packages"
}

// suiteDirName maps a suite to a directory name ("bookworm/updates" is an
// old-style suite with a slash).
func suiteDirName(suite string) string { return strings.ReplaceAll(suite, "/", "_") }

// SuiteDir returns the directory (a symlink to the current generation) of
// archive/suite.
func (p *Pantry) SuiteDir(archive, suite string) string {
	return filepath.Join(p.dir, archive, suiteDirName(suite))
}

// generation resolves the suite symlink to the current generation
// directory, so that a reader sees one InRelease and its indexes even if a
// refresh swaps the link meanwhile (the previous generation is kept). A
// suite never refreshed gives its (missing) symlink path.
func (p *Pantry) generation(archive, suite string) string {
	dir := p.SuiteDir(archive, suite)
	if target, err := os.Readlink(dir); err == nil {
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(dir), target)
		}
		return target
	}
	return dir
}

// readGenFile reads rel in the current generation of archive/suite. When a
// concurrent refresh removed the generation between resolving and reading,
// it resolves again (at most twice).
func (p *Pantry) readGenFile(archive, suite, rel string) ([]byte, error) {
	gen := p.generation(archive, suite)
	for attempt := 0; ; attempt++ {
		data, err := os.ReadFile(filepath.Join(gen, rel))
		if err == nil || !errors.Is(err, os.ErrNotExist) || attempt == 2 {
			return data, err
		}
		next := p.generation(archive, suite)
		if next == gen {
			return nil, err
		}
		gen = next
	}
}

// Meta reads the current meta.json of archive/suite; a suite never
// refreshed gives an error wrapping ErrNotRefreshed.
func (p *Pantry) Meta(archive, suite string) (*SuiteMeta, error) {
	return readMeta(p.generation(archive, suite))
}

func readMeta(dir string) (*SuiteMeta, error) {
	data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (run packyard refresh)", dir, ErrNotRefreshed)
	}
	if err != nil {
		return nil, fmt.Errorf("reading pantry metadata: %w", err)
	}
	var m SuiteMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parsing %s/meta.json: %w", dir, err)
	}
	return &m, nil
}

// Index returns the IndexMeta for component/arch, or nil.
func (m *SuiteMeta) Index(component, arch string) *IndexMeta {
	for i := range m.Indexes {
		if m.Indexes[i].Component == component && m.Indexes[i].Architecture == arch {
			return &m.Indexes[i]
		}
	}
	return nil
}

// archive returns the configured archive called name.
func (p *Pantry) archive(name string) *config.Archive {
	for i := range p.cfg.Archives {
		if p.cfg.Archives[i].Name == name {
			return &p.cfg.Archives[i]
		}
	}
	return nil
}

// wantedIndexes lists the index paths a configured archive needs per suite:
// Sources and Packages for each architecture, per component.
func wantedIndexes(a config.Archive) [][2]string {
	var out [][2]string
	for _, c := range a.Components {
		out = append(out, [2]string{c, "source"})
		for _, arch := range a.Architectures {
			out = append(out, [2]string{c, arch})
		}
	}
	return out
}
