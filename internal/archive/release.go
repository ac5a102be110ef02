package archive

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/packyard/packyard/internal/deb822"
)

// Release is the parsed plaintext of an InRelease file (the Debian
// repository format, wiki.debian.org/DebianRepository/Format#A.22Release.22_files).
type Release struct {
	Origin, Label, Suite, Codename string
	Date, ValidUntil               time.Time // ValidUntil is zero when absent
	AcquireByHash                  bool
	Architectures, Components      []string
	// SHA256 maps a path relative to dists/<suite>/ to its size and hash.
	SHA256 map[string]FileHash
}

// FileHash is a file's size in bytes and lowercase hex SHA256.
type FileHash struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ParseRelease parses Release text (already verified and stripped of its
// signature).
func ParseRelease(plaintext []byte) (*Release, error) {
	p, err := deb822.ParseFirst(plaintext)
	if err != nil {
		return nil, fmt.Errorf("parsing Release: %w", err)
	}
	r := &Release{
		Origin:        p.Get("Origin"),
		Label:         p.Get("Label"),
		Suite:         p.Get("Suite"),
		Codename:      p.Get("Codename"),
		AcquireByHash: strings.EqualFold(p.Get("Acquire-By-Hash"), "yes"),
		Architectures: strings.Fields(p.Get("Architectures")),
		Components:    strings.Fields(p.Get("Components")),
		SHA256:        map[string]FileHash{},
	}
	if r.Date, err = parseReleaseTime(p.Get("Date")); err != nil {
		return nil, fmt.Errorf("parsing Release Date: %w", err)
	}
	if v := p.Get("Valid-Until"); v != "" {
		if r.ValidUntil, err = parseReleaseTime(v); err != nil {
			return nil, fmt.Errorf("parsing Release Valid-Until: %w", err)
		}
	}
	for _, line := range deb822.Lines(p.Get("SHA256"))[1:] {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 || !isHexSHA256(f[0]) {
			return nil, fmt.Errorf("parsing Release SHA256: bad line %q", line)
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("parsing Release SHA256: bad size in %q", line)
		}
		r.SHA256[f[2]] = FileHash{Size: size, SHA256: strings.ToLower(f[0])}
	}
	if len(r.SHA256) == 0 {
		return nil, fmt.Errorf("parsing Release: no SHA256 file list")
	}
	return r, nil
}

// parseReleaseTime reads the RFC 2822 dates of Release files
// ("Sat, 11 Jul 2026 10:16:37 UTC").
func parseReleaseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 MST", "Mon, 2 Jan 2006 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// checkRelease applies apt's freshness rules to r fetched for suite at now:
// it must name the suite (as Suite or Codename), not be dated in the future,
// not be past Valid-Until, and not be older than the previous Release.
func checkRelease(r *Release, suite string, now, previous time.Time) error {
	if suite != r.Suite && suite != r.Codename {
		return fmt.Errorf("Release is for suite %q (codename %q), not %q", r.Suite, r.Codename, suite)
	}
	const skew = 10 * time.Minute
	if r.Date.After(now.Add(skew)) {
		return fmt.Errorf("Release Date %s is in the future (check the clock)", r.Date.Format(time.RFC1123))
	}
	if !r.ValidUntil.IsZero() && now.After(r.ValidUntil) {
		return fmt.Errorf("Release expired at %s (Valid-Until): the mirror is stale", r.ValidUntil.Format(time.RFC1123))
	}
	if !previous.IsZero() && r.Date.Before(previous) {
		return fmt.Errorf("Release Date %s is older than the one already in the pantry (%s): refusing a rollback",
			r.Date.Format(time.RFC1123), previous.Format(time.RFC1123))
	}
	return nil
}
