package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/packyard/packyard/internal/sign"
)

var _ Signer = (*sign.Key)(nil)

// ErrCheckFailed is returned by Check when it found problems.
var ErrCheckFailed = errors.New("repository check failed")

// Problem is one finding of Check.
type Problem struct {
	Distribution string `json:"distribution,omitempty"`
	Path         string `json:"path"`
	Problem      string `json:"problem"`
}

// CheckReport is the result of Check.
type CheckReport struct {
	Distributions int       `json:"distributions"`
	Files         int       `json:"files"`      // index and Release files verified
	PoolFiles     int       `json:"pool_files"` // pool files hashed
	Problems      []Problem `json:"problems,omitempty"`
}

// Check first completes or undoes any interrupted change, then verifies
// every published generation (each distribution's current one and every
// snapshot): InRelease and Release.gpg against the public keyring at
// cfg.WorkspaceDir().PublicKeyring(), that InRelease says what Release
// says, every file Release lists (size, MD5, SHA256, SHA512; uncompressed
// indexes that are not published are checked through their .xz form),
// every by-hash file against its name, and that every Filename of Packages
// and every file of Sources exists in the pool with the size and SHA256 the
// index gives. The report lists every problem; the error wraps
// ErrCheckFailed when there is one.
func (r *Repo) Check(ctx context.Context) (*CheckReport, error) {
	kr, err := sign.ReadKeyring(r.cfg.WorkspaceDir().PublicKeyring())
	if err != nil {
		return nil, fmt.Errorf("reading public keyring: %w", err)
	}
	c := &checker{r: r, kr: kr, rep: &CheckReport{}, pool: map[string]string{}}
	for _, d := range r.Distributions() {
		unlock, err := r.lockDist(ctx, d)
		if err != nil {
			return nil, err
		}
		unlock()
		n, _, err := r.current(d)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			continue
		}
		c.rep.Distributions++
		c.generation(ctx, d, filepath.Join(r.root, "dists", d), n)
	}
	snaps, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range snaps {
		c.generation(ctx, s.Distribution, filepath.Join(r.root, "snapshots", s.Name, "dists", s.Distribution), s.Generation)
	}
	if len(c.rep.Problems) > 0 {
		return c.rep, fmt.Errorf("%w: %d problem(s), first: %s: %s", ErrCheckFailed, len(c.rep.Problems), c.rep.Problems[0].Path, c.rep.Problems[0].Problem)
	}
	return c.rep, nil
}

type checker struct {
	r    *Repo
	kr   openpgp.EntityList
	rep  *CheckReport
	pool map[string]string // pool path -> sha256 found ("" when broken)
	dist string
}

func (c *checker) fail(path, format string, args ...any) {
	c.rep.Problems = append(c.rep.Problems, Problem{Distribution: c.dist, Path: path, Problem: fmt.Sprintf(format, args...)})
}

// generation checks one published tree at dir (generation n of dist).
func (c *checker) generation(ctx context.Context, dist, dir string, n int) {
	c.dist = dist
	rel := func(p string) string { return relTo(c.r.root, filepath.Join(dir, p)) }
	release, err := os.ReadFile(filepath.Join(dir, "Release"))
	if err != nil {
		c.fail(rel("Release"), "%v", err)
		return
	}
	c.signatures(dir, release, rel)
	m, err := c.r.loadManifest(dist, n)
	if err != nil {
		c.fail(rel(""), "%v", err)
		return
	}
	listed, err := parseReleaseFiles(release)
	if err != nil {
		c.fail(rel("Release"), "%v", err)
		return
	}
	for p, want := range listed {
		c.rep.Files++
		got, err := c.fileSums(dir, p, m.Absent[p])
		if err != nil {
			c.fail(rel(p), "%v", err)
			continue
		}
		if !sumsAgree(got, want) {
			c.fail(rel(p), "checksums differ from Release")
		}
	}
	c.chunkSums(m, listed, rel)
	for bh, file := range byHashPaths(m.Files, m.Absent) {
		if _, ok := listed[file]; !ok {
			c.fail(rel(file), "in manifest but not in Release")
			continue
		}
		got, err := sumFile(filepath.Join(dir, filepath.FromSlash(bh)))
		if err != nil {
			c.fail(rel(bh), "%v", err)
			continue
		}
		algo := strings.Split(bh, "/")
		if name := algo[len(algo)-1]; got.hash(algo[len(algo)-2]) != name {
			c.fail(rel(bh), "content does not match its by-hash name")
		}
	}
	err = eachStanza(c.r, m.Indexes, func(s indexSpec, data []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.stanzaFiles(data)
		return nil
	})
	if err != nil {
		c.fail(rel(""), "reading indexes: %v", err)
	}
}

// chunkSums checks that the content of every index, as the manifest's
// chunks give it, has the checksums Release lists for the uncompressed
// file. Publishing resumes hashing from saved hash states; together with
// the check of every file against Release this shows that they produced
// the Release of exactly the chunks the manifest names.
func (c *checker) chunkSums(m *manifest, listed map[string]checksums, rel func(string) string) {
	keys := make([]string, 0, len(m.Indexes))
	for k := range m.Indexes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		want, ok := listed[k]
		if !ok {
			continue // an index of an architecture no longer configured
		}
		h := newIndexHasher(true)
		var err error
		for _, ch := range m.Indexes[k] {
			var text []byte
			if text, err = c.r.chunks.text(ch); err != nil {
				break
			}
			h.Write(text)
		}
		if err != nil {
			c.fail(rel(k), "%v", err)
		} else if got := h.sums(); got.Size != want.Size || got.SHA256 != want.SHA256 {
			c.fail(rel(k), "the manifest's chunks differ from what Release lists")
		}
	}
}

func (c *checker) signatures(dir string, release []byte, rel func(string) string) {
	inRelease, err := os.ReadFile(filepath.Join(dir, "InRelease"))
	if err != nil {
		c.fail(rel("InRelease"), "%v", err)
	} else if text, _, err := sign.VerifyClearSigned(c.kr, inRelease); err != nil {
		c.fail(rel("InRelease"), "%v", err)
	} else if !bytes.Equal(bytes.TrimRight(text, "\n"), bytes.TrimRight(release, "\n")) {
		c.fail(rel("InRelease"), "signed text differs from Release")
	}
	sig, err := os.ReadFile(filepath.Join(dir, "Release.gpg"))
	if err != nil {
		c.fail(rel("Release.gpg"), "%v", err)
	} else if _, err := sign.VerifyDetached(c.kr, release, sig); err != nil {
		c.fail(rel("Release.gpg"), "%v", err)
	}
}

// fileSums hashes a listed file, or the decompressed .xz of an absent one.
func (c *checker) fileSums(dir, p string, absent bool) (checksums, error) {
	if !absent {
		return sumFile(filepath.Join(dir, filepath.FromSlash(p)))
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(p)+".xz"))
	if err != nil {
		return checksums{}, err
	}
	defer f.Close()
	zr, release, err := openXZ(f)
	if err != nil {
		return checksums{}, err
	}
	defer release()
	h := newHashWriter()
	if _, err := io.Copy(h, zr); err != nil {
		return checksums{}, err
	}
	return h.sums(), nil
}

// stanzaFiles checks the pool files a Packages or Sources stanza names.
func (c *checker) stanzaFiles(data []byte) {
	want := map[string]string{}
	sizes := map[string]string{}
	if fn := fieldOf(data, "Filename"); fn != "" {
		want[fn] = fieldOf(data, "SHA256")
		sizes[fn] = fieldOf(data, "Size")
	} else {
		dir := fieldOf(data, "Directory")
		for _, f := range stanzaFileList(data, "Checksums-Sha256") {
			want[dir+"/"+f.Name] = f.Sum
			sizes[dir+"/"+f.Name] = strconv.FormatInt(f.Size, 10)
		}
	}
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		got, seen := c.pool[p]
		if !seen {
			sum, err := sha256File(filepath.Join(c.r.root, filepath.FromSlash(p)))
			if err != nil {
				c.pool[p] = ""
				c.fail(p, "%v", err)
				continue
			}
			c.rep.PoolFiles++
			got = sum.SHA256 + " " + strconv.FormatInt(sum.Size, 10)
			c.pool[p] = got
		}
		if got != "" && got != want[p]+" "+sizes[p] {
			c.fail(p, "size or SHA256 differs from the index (index %s %s, file %s)", want[p], sizes[p], got)
		}
	}
}

// parseReleaseFiles reads the MD5Sum, SHA256 and SHA512 lists of Release.
func parseReleaseFiles(release []byte) (map[string]checksums, error) {
	sts, err := parseStanzas(release)
	if err != nil || len(sts) != 1 {
		return nil, fmt.Errorf("malformed Release")
	}
	out := map[string]checksums{}
	for _, h := range byHashDirs {
		for _, l := range strings.Split(sts[0].get(h), "\n") {
			f := strings.Fields(l)
			if len(f) != 3 {
				continue
			}
			size, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad size in Release line %q", l)
			}
			s := out[f[2]]
			s.Size = size
			switch h {
			case "MD5Sum":
				s.MD5 = f[0]
			case "SHA256":
				s.SHA256 = f[0]
			case "SHA512":
				s.SHA512 = f[0]
			}
			out[f[2]] = s
		}
	}
	return out, nil
}

// sumsAgree compares a file's checksums with those Release lists for it
// (Release may list only some hashes).
func sumsAgree(got, listed checksums) bool {
	if got.Size != listed.Size {
		return false
	}
	for _, h := range byHashDirs {
		if v := listed.hash(h); v != "" && v != got.hash(h) {
			return false
		}
	}
	return listed.SHA256 != ""
}
