package build

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// ChangelogEntry is the newest entry of a debian/changelog
// (Debian Policy §4.4): its source, version, distribution and date.
type ChangelogEntry struct {
	Source       string
	Version      string
	Distribution string
	Date         time.Time
}

var changelogHeader = regexp.MustCompile(`^(\S+) \(([^()\s]+)\) ([^;]*);`)

// ParseChangelog reads the first entry of a debian/changelog. The date comes
// from the trailer line " -- Name <email>  <RFC 5322 date>".
func ParseChangelog(data []byte) (*ChangelogEntry, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var e *ChangelogEntry
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if e == nil {
			if strings.TrimSpace(line) == "" {
				continue
			}
			m := changelogHeader.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("changelog line %d: not an entry header: %q", n, line)
			}
			e = &ChangelogEntry{Source: m[1], Version: m[2], Distribution: strings.TrimSpace(m[3])}
			continue
		}
		if !strings.HasPrefix(line, " -- ") {
			continue
		}
		_, date, ok := strings.Cut(line, ">  ")
		if !ok {
			return nil, fmt.Errorf("changelog line %d: trailer without date: %q", n, line)
		}
		t, err := mail.ParseDate(strings.TrimSpace(date))
		if err != nil {
			return nil, fmt.Errorf("changelog line %d: %w", n, err)
		}
		e.Date = t
		return e, nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading changelog: %w", err)
	}
	if e == nil {
		return nil, errors.New("changelog has no entry")
	}
	return nil, errors.New("changelog entry has no trailer line")
}

// UpstreamVersion strips the epoch and the Debian revision from version.
func UpstreamVersion(version string) string {
	if _, v, ok := strings.Cut(version, ":"); ok {
		version = v
	}
	if i := strings.LastIndex(version, "-"); i > 0 {
		version = version[:i]
	}
	return version
}

// DSC is what the builder needs from a .dsc (Debian Policy §5.4).
type DSC struct {
	Source  string
	Version string
	// Files are the file names the .dsc lists (Files field).
	Files []string
}

// ParseDSC reads the fields of a .dsc, clear-signed or not. The signature
// is not checked here: the archive code verified the chain that led to it,
// and dpkg-source checks every listed file against the .dsc's checksums.
func ParseDSC(data []byte) (*DSC, error) {
	text := string(data)
	if strings.HasPrefix(text, "-----BEGIN PGP SIGNED MESSAGE-----") {
		_, body, ok := strings.Cut(text, "\n\n")
		if !ok {
			return nil, errors.New("clear-signed .dsc without body")
		}
		body, _, _ = strings.Cut(body, "\n-----BEGIN PGP SIGNATURE-----")
		text = body
	}
	d := &DSC{}
	field := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			if d.Source != "" {
				break
			}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if field == "files" {
				parts := strings.Fields(line)
				if len(parts) == 3 {
					d.Files = append(d.Files, parts[2])
				}
			}
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		field = strings.ToLower(name)
		switch field {
		case "source":
			d.Source = strings.TrimSpace(value)
		case "version":
			d.Version = strings.TrimSpace(value)
		}
	}
	if d.Source == "" || d.Version == "" {
		return nil, errors.New(".dsc lacks Source or Version")
	}
	for _, f := range d.Files {
		if f != filepath.Base(f) || f == "." || f == ".." {
			return nil, fmt.Errorf(".dsc lists unsafe file name %q", f)
		}
	}
	return d, nil
}

// ReadDSC parses the .dsc at path.
func ReadDSC(path string) (*DSC, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading .dsc: %w", err)
	}
	d, err := ParseDSC(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", filepath.Base(path), err)
	}
	return d, nil
}
