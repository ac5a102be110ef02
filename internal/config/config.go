package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	yaml "go.yaml.in/yaml/v4"
)

// Config is the whole of packyard's configuration, one per binary.
type Config struct {
	// Workspace is the directory holding the pantry, repository, envs and runs.
	Workspace string `yaml:"workspace"`
	// Offline forbids every network connection when true.
	Offline bool `yaml:"offline,omitempty"`
	// Archives are the upstream APT archives packyard reads.
	Archives []Archive `yaml:"archives"`
	// Repository is packyard's own APT repository.
	Repository Repository `yaml:"repository"`
	// Build holds defaults for packyard build.
	Build Build `yaml:"build"`
}

// Archive is one upstream APT archive: a mirror URI with the suites,
// components and architectures to read, and the keyring that signs its
// InRelease files (apt's Signed-By, sources.list(5)).
type Archive struct {
	Name          string   `yaml:"name"`
	URI           string   `yaml:"uri"`
	Suites        []string `yaml:"suites"`
	Components    []string `yaml:"components"`
	Architectures []string `yaml:"architectures"`
	SignedBy      string   `yaml:"signed-by"`
	// TTL is how long a refreshed suite is considered fresh ("6h").
	TTL Duration `yaml:"ttl,omitempty"`
}

// Repository is packyard's own archive.
type Repository struct {
	// ID names the repository in distribution names: <codename>-<id>-<suite>.
	ID          string `yaml:"id"`
	Origin      string `yaml:"origin"`
	Label       string `yaml:"label"`
	Description string `yaml:"description,omitempty"`
	// SigningKey is the armored secret key file; relative paths are under the workspace.
	SigningKey string `yaml:"signing-key"`
	// SkipContents turns off Contents-<arch> indexes (which need every
	// data.tar decompressed once), as aptly's -skip-contents does.
	SkipContents  bool           `yaml:"skip-contents,omitempty"`
	Distributions []Distribution `yaml:"distributions"`
}

// Distribution is one codename of the repository with its suite layout.
type Distribution struct {
	Codename      string   `yaml:"codename"`
	Components    []string `yaml:"components"`
	Architectures []string `yaml:"architectures"`
	Suites        []Suite  `yaml:"suites"`
}

// Suite is one suite of a distribution's layout, as mini-buildd defines them.
type Suite struct {
	Name       string `yaml:"name"`
	Uploadable bool   `yaml:"uploadable"`
	MigratesTo string `yaml:"migrates-to,omitempty"`
	Rollbacks  int    `yaml:"rollbacks"`
	// VersionSuffix, when set, is a regular expression every version added to
	// the suite must match at its end (for example `~%CODENAME%[0-9]+\+[0-9]+`).
	VersionSuffix string `yaml:"version-suffix,omitempty"`
	// ValidFor sets Release's Valid-Until this far after Date; zero omits it.
	ValidFor Duration `yaml:"valid-for,omitempty"`
}

// Build holds build defaults.
type Build struct {
	// Builder is "dpkg" (dpkg-buildpackage in a bwrap session) or "sbuild".
	Builder      string `yaml:"builder"`
	Codename     string `yaml:"codename"`
	Architecture string `yaml:"architecture"`
	// Suite is the repository suite that builds are published to ("unstable").
	Suite string `yaml:"suite"`
	// LayerMaxAge removes build-dependency layers unused for longer ("720h");
	// zero keeps them regardless of age.
	LayerMaxAge Duration `yaml:"layer-max-age,omitempty"`
	// LayerMaxSizeMB bounds the disk used by each environment's
	// build-dependency layers, least recently used removed first; zero means
	// no bound.
	LayerMaxSizeMB int64 `yaml:"layer-max-size-mb,omitempty"`
	// KeptMaxAge removes what failed builds kept for inspection (build
	// --keep: dpkg builder sessions, sbuild build directories) once kept
	// for longer ("168h"), at `env gc` and when a build starts; zero keeps
	// them until removed by hand (`env kept --remove`).
	KeptMaxAge Duration `yaml:"kept-max-age,omitempty"`
	// SbuildUser is the unprivileged user the sbuild builder runs as when
	// packyard runs as root ("packyard-sbuild" when empty).
	SbuildUser string `yaml:"sbuild-user,omitempty"`
	// Overlay picks the overlay of build sessions when packyard runs as an
	// ordinary user: "kernel" (overlayfs mounted in a user namespace,
	// Linux 5.11 and later), "fuse" (fuse-overlayfs) or "auto" (kernel,
	// else fuse; the default). As root the kernel overlay is always used.
	Overlay string `yaml:"overlay,omitempty"`
}

// Duration is a time.Duration written as Go duration text ("6h", "36h").
type Duration time.Duration

// MarshalYAML writes d as a duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// UnmarshalYAML reads a duration string such as "90m" or "6h".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// ErrNotFound is returned by Load when the config file does not exist.
var ErrNotFound = errors.New("config file not found")

// DefaultPath returns the config path: $PACKYARD_CONFIG, else
// $XDG_CONFIG_HOME/packyard/config.yaml, else ~/.config/packyard/config.yaml.
func DefaultPath() string {
	if p := os.Getenv("PACKYARD_CONFIG"); p != "" {
		return p
	}
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "packyard", "config.yaml")
	}
	return filepath.Join(home(), ".config", "packyard", "config.yaml")
}

// DefaultWorkspace returns $XDG_DATA_HOME/packyard or ~/.local/share/packyard.
func DefaultWorkspace() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "packyard")
	}
	return filepath.Join(home(), ".local", "share", "packyard")
}

func home() string {
	h, err := os.UserHomeDir()
	if err != nil || h == "" {
		return "/root"
	}
	return h
}

// Load reads and validates the config at path. Unknown keys are errors.
// A missing file gives an error wrapping ErrNotFound.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (run packyard init first)", path, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes config YAML; name is used in error messages.
func Parse(data []byte, name string) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", name, err)
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

// Save writes c to path atomically, creating parent directories.
func (c *Config) Save(path string) error {
	var buf bytes.Buffer
	buf.WriteString("# packyard configuration; see README.md\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("encoding config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating config directory: %w", err)
	}
	if err := renameio.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	return nil
}

func (c *Config) applyDefaults() {
	if c.Workspace == "" {
		c.Workspace = DefaultWorkspace()
	}
	if c.Repository.ID == "" {
		c.Repository.ID = "packyard"
	}
	if c.Repository.Origin == "" {
		c.Repository.Origin = "packyard"
	}
	if c.Repository.Label == "" {
		c.Repository.Label = "packyard"
	}
	if c.Repository.SigningKey == "" {
		c.Repository.SigningKey = "keys/signing-key.asc"
	}
	if c.Build.Builder == "" {
		c.Build.Builder = "dpkg"
	}
	if c.Build.Architecture == "" {
		c.Build.Architecture = "amd64"
	}
	if c.Build.Suite == "" {
		c.Build.Suite = "unstable"
	}
	for i := range c.Archives {
		a := &c.Archives[i]
		if len(a.Architectures) == 0 {
			a.Architectures = []string{"amd64"}
		}
		if len(a.Components) == 0 {
			a.Components = []string{"main"}
		}
		if a.TTL == 0 {
			a.TTL = Duration(6 * time.Hour)
		}
	}
}

// Validate checks the config for values packyard cannot work with.
func (c *Config) Validate() error {
	if !filepath.IsAbs(c.Workspace) {
		return fmt.Errorf("workspace %q must be an absolute path", c.Workspace)
	}
	names := map[string]bool{}
	for _, a := range c.Archives {
		if a.Name == "" || strings.ContainsAny(a.Name, "/ ") {
			return fmt.Errorf("archive %q: name must be non-empty with no slash or space", a.Name)
		}
		if names[a.Name] {
			return fmt.Errorf("archive %q defined twice", a.Name)
		}
		names[a.Name] = true
		if !strings.HasPrefix(a.URI, "http://") && !strings.HasPrefix(a.URI, "https://") && !strings.HasPrefix(a.URI, "file:/") {
			return fmt.Errorf("archive %q: uri %q must be http, https or file", a.Name, a.URI)
		}
		if len(a.Suites) == 0 {
			return fmt.Errorf("archive %q: no suites", a.Name)
		}
	}
	if strings.ContainsAny(c.Repository.ID, "/ _") {
		return fmt.Errorf("repository id %q must not contain slash, space or underscore", c.Repository.ID)
	}
	switch c.Build.Builder {
	case "dpkg", "sbuild":
	default:
		return fmt.Errorf("build.builder %q: want dpkg or sbuild", c.Build.Builder)
	}
	switch c.Build.Overlay {
	case "", "auto", "kernel", "fuse":
	default:
		return fmt.Errorf("build.overlay %q: want auto, kernel or fuse", c.Build.Overlay)
	}
	for _, d := range c.Repository.Distributions {
		if d.Codename == "" {
			return errors.New("repository distribution with empty codename")
		}
		seen := map[string]bool{}
		for _, s := range d.Suites {
			seen[s.Name] = true
		}
		for _, s := range d.Suites {
			if s.MigratesTo != "" && !seen[s.MigratesTo] {
				return fmt.Errorf("distribution %s: suite %s migrates to unknown suite %s", d.Codename, s.Name, s.MigratesTo)
			}
		}
	}
	return nil
}

// DistributionName returns the published name <codename>-<id>-<suite>.
func (c *Config) DistributionName(codename, suite string) string {
	return codename + "-" + c.Repository.ID + "-" + suite
}

// Distribution returns the repository distribution for codename, or nil.
func (c *Config) Distribution(codename string) *Distribution {
	for i := range c.Repository.Distributions {
		if c.Repository.Distributions[i].Codename == codename {
			return &c.Repository.Distributions[i]
		}
	}
	return nil
}

// SigningKeyPath returns the absolute path of the repository signing key.
func (c *Config) SigningKeyPath() string {
	if filepath.IsAbs(c.Repository.SigningKey) {
		return c.Repository.SigningKey
	}
	return filepath.Join(c.Workspace, c.Repository.SigningKey)
}

// DefaultLayout returns mini-buildd's default suite layout: experimental,
// snapshot, unstable, testing, hotfix, stable, with their rollback counts.
func DefaultLayout() []Suite {
	return []Suite{
		{Name: "experimental", Uploadable: true, Rollbacks: 6},
		{Name: "snapshot", Uploadable: true, Rollbacks: 12},
		{Name: "unstable", Uploadable: true, MigratesTo: "testing", Rollbacks: 9},
		{Name: "testing", MigratesTo: "stable", Rollbacks: 3},
		{Name: "hotfix", Uploadable: true, MigratesTo: "stable", Rollbacks: 4},
		{Name: "stable", Rollbacks: 6},
	}
}

// Default returns a config for workspace with archives and the repository
// distribution for codename on arch.
func Default(workspace, codename, arch string, archives []Archive) *Config {
	c := &Config{
		Workspace: workspace,
		Archives:  archives,
		Repository: Repository{
			Distributions: []Distribution{{
				Codename:      codename,
				Components:    []string{"main"},
				Architectures: []string{arch},
				Suites:        DefaultLayout(),
			}},
		},
		Build: Build{Codename: codename, Architecture: arch},
	}
	c.applyDefaults()
	return c
}
