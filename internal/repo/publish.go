package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/renameio/v2"
)

// fileSum is one line of a Release checksum list.
type fileSum struct {
	Path string // relative to dists/<dist>/
	checksums
}

// generationsDir is where the generations of dist live.
func (r *Repo) generationsDir(dist string) string {
	return filepath.Join(r.root, stateDir, "generations", dist)
}

// current returns the number and directory of the published generation of
// dist, or 0 and "" when it was never published.
func (r *Repo) current(dist string) (int, string, error) {
	link := filepath.Join(r.root, "dists", dist)
	t, err := os.Readlink(link)
	if errors.Is(err, os.ErrNotExist) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", err
	}
	n, err := strconv.Atoi(filepath.Base(t))
	if err != nil {
		return 0, "", fmt.Errorf("dists/%s points to %s, not a generation", dist, t)
	}
	return n, filepath.Join(r.generationsDir(dist), strconv.Itoa(n)), nil
}

// newGeneration creates the next free generation directory of dist.
func (r *Repo) newGeneration(dist string, after int) (int, string, error) {
	base := r.generationsDir(dist)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return 0, "", err
	}
	for n := after + 1; ; n++ {
		d := filepath.Join(base, strconv.Itoa(n))
		err := os.Mkdir(d, 0o755)
		if err == nil {
			return n, d, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return 0, "", err
		}
	}
}

// publishUpload merges u into the current state of t and publishes it.
func (r *Repo) publishUpload(ctx context.Context, t *target, u *upload) (*Result, error) {
	prevN, prevDir, err := r.current(t.Name)
	if err != nil {
		return nil, publishErr("reading current generation", err)
	}
	res := &Result{Distribution: t.Name}
	touched := map[indexKey]*index{}
	get := func(k indexKey) (*index, error) {
		if ix, ok := touched[k]; ok {
			return ix, nil
		}
		ix, err := loadIndex(prevDir, k)
		if err != nil {
			return nil, err
		}
		touched[k] = ix
		return ix, nil
	}
	put := func(k indexKey, name string, st stanza, ref PackageRef) error {
		ix, err := get(k)
		if err != nil {
			return err
		}
		if old, ok := ix.entries[name]; ok {
			res.Replaced = append(res.Replaced, PackageRef{Package: name, Version: old.get("Version"), Architecture: old.get("Architecture"), Component: k.Component, Filename: old.get("Filename")})
		}
		ix.entries[name] = st
		return nil
	}
	for i := range u.Binaries {
		b := &u.Binaries[i]
		filename := poolDir(b.Component, b.Source) + "/" + b.File.Name
		st := binaryStanza(b, filename)
		archs := []string{b.Arch}
		if b.Arch == "all" {
			archs = t.Dist.Architectures
		}
		for _, a := range archs {
			dir := "binary-" + a
			if b.Udeb {
				dir = "debian-installer/" + dir
			}
			if err := put(indexKey{b.Component, dir}, b.Package, st, PackageRef{}); err != nil {
				return nil, publishErr("reading index", err)
			}
		}
		res.Added = append(res.Added, PackageRef{Package: b.Package, Version: b.Version, Architecture: b.Arch, Component: b.Component, Filename: filename})
	}
	for i := range u.Sources {
		s := &u.Sources[i]
		dir := poolDir(s.Component, s.Package)
		if err := put(indexKey{s.Component, "source"}, s.Package, sourceStanza(s, dir), PackageRef{}); err != nil {
			return nil, publishErr("reading index", err)
		}
		res.Added = append(res.Added, PackageRef{Package: s.Package, Version: s.Version, Architecture: "source", Component: s.Component, Filename: dir + "/" + s.DSC.Name})
	}
	n, date, err := r.publish(ctx, t, prevN, prevDir, touched)
	if err != nil {
		return nil, err
	}
	res.Generation, res.Date = n, date
	return res, nil
}

// publish writes a new generation of t: the indexes in touched are written
// anew, every other index is linked from the previous generation, and the
// signed Release files come last. It then swaps dists/<dist> to it.
func (r *Repo) publish(ctx context.Context, t *target, prevN int, prevDir string, touched map[indexKey]*index) (int, time.Time, error) {
	if r.key == nil {
		return 0, time.Time{}, publishErr("publishing "+t.Name, errors.New("no signing key"))
	}
	prevSums := map[string]fileSum{}
	if prevDir != "" {
		s, err := readReleaseSums(filepath.Join(prevDir, "Release"))
		if err != nil {
			return 0, time.Time{}, publishErr("reading previous Release", err)
		}
		prevSums = s
	}
	n, dir, err := r.newGeneration(t.Name, prevN)
	if err != nil {
		return 0, time.Time{}, publishErr("creating generation", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	var sums []fileSum
	for _, k := range indexKeys(t) {
		if err := ctx.Err(); err != nil {
			return 0, time.Time{}, publishErr("publishing "+t.Name, err)
		}
		fs, err := r.writeIndexDir(dir, prevDir, k, touched[k], prevSums)
		if err != nil {
			return 0, time.Time{}, publishErr("writing "+k.path(), err)
		}
		sums = append(sums, fs...)
	}
	date := r.now().UTC().Truncate(time.Second)
	if err := r.writeRelease(dir, t, date, sums); err != nil {
		return 0, time.Time{}, publishErr("writing Release", err)
	}
	if err := syncTree(dir); err != nil {
		return 0, time.Time{}, publishErr("syncing generation", err)
	}
	if err := r.swap(t.Name, n); err != nil {
		return 0, time.Time{}, publishErr("switching "+t.Name, err)
	}
	ok = true
	r.log.Info("published", "distribution", t.Name, "generation", n, "indexes", len(touched))
	return n, date, nil
}

// writeIndexDir fills <dir>/<k.path()> with the index files (plain, .gz, .xz)
// and their by-hash copies, carrying over the by-hash files of the previous
// generation.
func (r *Repo) writeIndexDir(dir, prevDir string, k indexKey, ix *index, prevSums map[string]fileSum) ([]fileSum, error) {
	out := filepath.Join(dir, filepath.FromSlash(k.path()))
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	names := []string{k.base(), k.base() + ".gz", k.base() + ".xz"}
	var sums []fileSum
	reuse := ix == nil && prevDir != ""
	for _, nm := range names {
		if _, ok := prevSums[k.path()+"/"+nm]; !ok {
			reuse = false
		}
	}
	if reuse {
		for _, nm := range names {
			if err := os.Link(filepath.Join(prevDir, filepath.FromSlash(k.path()), nm), filepath.Join(out, nm)); err != nil {
				return nil, err
			}
			sums = append(sums, prevSums[k.path()+"/"+nm])
		}
	} else {
		if ix == nil {
			ix = newIndex()
		}
		plain := ix.bytes()
		gz, xzb, err := compressed(plain)
		if err != nil {
			return nil, err
		}
		for i, data := range [][]byte{plain, gz, xzb} {
			if err := writeSynced(filepath.Join(out, names[i]), data); err != nil {
				return nil, err
			}
			sums = append(sums, fileSum{Path: k.path() + "/" + names[i], checksums: sumBytes(data)})
		}
	}
	if err := linkByHash(out, sums); err != nil {
		return nil, err
	}
	if prevDir != "" {
		if err := carryByHash(filepath.Join(prevDir, filepath.FromSlash(k.path()), "by-hash"), filepath.Join(out, "by-hash")); err != nil {
			return nil, err
		}
	}
	return sums, nil
}

// byHashDirs are the by-hash directories apt may use, keyed by the hash
// names of Release fields (apt picks the strongest listed: SHA512).
var byHashDirs = []string{"MD5Sum", "SHA256", "SHA512"}

func linkByHash(dir string, sums []fileSum) error {
	for _, h := range byHashDirs {
		d := filepath.Join(dir, "by-hash", h)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		for _, s := range sums {
			name := map[string]string{"MD5Sum": s.MD5, "SHA256": s.SHA256, "SHA512": s.SHA512}[h]
			err := os.Link(filepath.Join(dir, filepath.Base(s.Path)), filepath.Join(d, name))
			if err != nil && !errors.Is(err, os.ErrExist) {
				return err
			}
		}
	}
	return nil
}

// carryByHash links every by-hash file of the previous generation into the
// new one, so clients holding the previous InRelease still find them.
func carryByHash(prev, next string) error {
	for _, h := range byHashDirs {
		ents, err := os.ReadDir(filepath.Join(prev, h))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for _, e := range ents {
			err := os.Link(filepath.Join(prev, h, e.Name()), filepath.Join(next, h, e.Name()))
			if err != nil && !errors.Is(err, os.ErrExist) {
				return err
			}
		}
	}
	return nil
}

// writeRelease writes Release, InRelease and Release.gpg into dir.
func (r *Repo) writeRelease(dir string, t *target, date time.Time, sums []fileSum) error {
	sort.Slice(sums, func(i, j int) bool { return sums[i].Path < sums[j].Path })
	desc := r.cfg.Repository.Description
	if desc == "" {
		desc = "packyard repository " + t.Name
	}
	st := stanza{
		{"Origin", r.cfg.Repository.Origin},
		{"Label", r.cfg.Repository.Label},
		{"Suite", t.Name},
		{"Codename", t.Name},
		{"Date", date.Format(releaseTime)},
	}
	if vf := time.Duration(t.Suite.ValidFor); vf > 0 {
		st = append(st, field{"Valid-Until", date.Add(vf).Format(releaseTime)})
	}
	st = append(st,
		field{"Architectures", strings.Join(t.Dist.Architectures, " ")},
		field{"Components", strings.Join(t.Dist.Components, " ")},
		field{"Description", desc},
		field{"Acquire-By-Hash", "yes"},
	)
	for _, h := range []string{"MD5Sum", "SHA256", "SHA512"} {
		var b strings.Builder
		for _, s := range sums {
			v := map[string]string{"MD5Sum": s.MD5, "SHA256": s.SHA256, "SHA512": s.SHA512}[h]
			fmt.Fprintf(&b, "\n %s %16d %s", v, s.Size, s.Path)
		}
		st = append(st, field{h, b.String()})
	}
	release := st.appendTo(nil)
	release = release[:len(release)-1] // no blank line after the only paragraph
	inRelease, err := r.key.ClearSign(release)
	if err != nil {
		return err
	}
	detached, err := r.key.DetachSign(release)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"Release.gpg", detached}, {"Release", release}, {"InRelease", inRelease}} {
		if err := writeSynced(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

// releaseTime is the Date format of Release files (RFC 2822 in UTC).
const releaseTime = "Mon, 02 Jan 2006 15:04:05 UTC"

// readReleaseSums parses the checksum lists of a Release file.
func readReleaseSums(p string) (map[string]fileSum, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	sts, err := parseStanzas(data)
	if err != nil || len(sts) != 1 {
		return nil, fmt.Errorf("%s: malformed Release", p)
	}
	out := map[string]fileSum{}
	for _, h := range []string{"MD5Sum", "SHA256", "SHA512"} {
		for _, l := range strings.Split(sts[0].get(h), "\n") {
			f := strings.Fields(l)
			if len(f) != 3 {
				continue
			}
			size, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: bad size in %q", p, l)
			}
			s := out[f[2]]
			s.Path, s.Size = f[2], size
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

// swap points dists/<dist> at generation n atomically and makes it durable.
func (r *Repo) swap(dist string, n int) error {
	link := filepath.Join(r.root, "dists", dist)
	target := filepath.Join("..", stateDir, "generations", dist, strconv.Itoa(n))
	if err := renameio.Symlink(target, link); err != nil {
		return err
	}
	return syncDir(filepath.Dir(link))
}

// writeSynced creates p with data and fsyncs it.
func writeSynced(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncTree fsyncs every directory under dir (files are synced when written).
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return syncDir(p)
		}
		return nil
	})
}
