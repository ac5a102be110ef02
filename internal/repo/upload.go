package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/packyard/packyard/internal/run"
)

// inputFile is one file offered to Add, with its checksums.
type inputFile struct {
	Path string // on disk
	Name string // base name in the pool
	Sum  checksums
}

// binaryItem is a .deb or .udeb to publish.
type binaryItem struct {
	File                   inputFile
	Control                stanza
	Package, Version, Arch string
	Source, SourceVersion  string
	Udeb                   bool
	Component              string
	Contents               []string // data.tar paths, when collected
}

// sourceItem is a .dsc with the files it lists.
type sourceItem struct {
	DSC              inputFile
	Files            []inputFile
	Control          stanza
	Package, Version string
	Component        string
}

// upload is everything one Add call publishes.
type upload struct {
	Binaries []binaryItem
	Sources  []sourceItem
	Extras   []inputFile // .buildinfo and .changes kept in the pool beside the source
	ExtraSrc string      // source name the extras belong to
}

// safeName reports whether name is a plain file name: no separators, no
// leading dot, nothing outside printable ASCII.
func safeName(name string) bool {
	if name == "" || name[0] == '.' || len(name) > 255 {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f || c == '/' || c == '\\' {
			return false
		}
	}
	return true
}

// listedFile is one line of a Files or Checksums-* field.
type listedFile struct {
	Name  string
	Size  int64
	Sum   string
	Extra []string // section and priority in a .changes Files field
}

// parseFileList reads the lines of a Files/Checksums-* field value.
func parseFileList(value string) ([]listedFile, error) {
	var out []listedFile
	for _, l := range strings.Split(value, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("malformed file list line %q", strings.TrimSpace(l))
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("malformed size in %q", strings.TrimSpace(l))
		}
		out = append(out, listedFile{Name: f[len(f)-1], Size: size, Sum: strings.ToLower(f[0]), Extra: f[2 : len(f)-1]})
	}
	return out, nil
}

// collector reads and verifies input files, storing each in the pool's
// content-addressed store as it hashes it (one read per file).
type collector struct {
	ctx          context.Context
	run          *run.Runner
	pool         pool
	ss           *syncSet
	withContents bool
	link         bool   // hard-link inputs into the store (AddOptions.LinkInputs)
	linkUnder    string // inputs under this directory are linked anyway (see linkable)
	// components are the target distribution's, for making the pool
	// directories of packages while others are still being hashed.
	components []string
	dirs       chan string // to makeDirs, during collect
	madeDirs   sync.Map    // pool directories sent to makeDirs
}

// linkable reports whether input p may be hard-linked into the store: with
// AddOptions.LinkInputs, or when it lies (symbolic links resolved) in the
// workspace's runs directory, where packyard's builds leave results it
// never rewrites. Other inputs are copied: a user's file may be rewritten
// in place later (dpkg-deb -b over the same name does that), which must
// not change what the pool serves.
func (c *collector) linkable(p string) bool {
	if c.link {
		return true
	}
	if c.linkUnder == "" {
		return false
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false
	}
	under, err := filepath.EvalSymlinks(c.linkUnder)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(under, real)
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..")
}

// prepareDir asks for the pool directory of a binary package to be made
// ahead of linking (see makeDirs).
func (c *collector) prepareDir(b *binaryItem) {
	if c.dirs == nil {
		return
	}
	dir := poolDir(componentOf(b.Control.get("Section"), c.components), b.Source)
	if _, done := c.madeDirs.LoadOrStore(dir, true); !done {
		c.dirs <- dir
	}
}

// makeDirs makes the pool directories sent to dirs, one at a time, while
// the inputs are still being hashed: directory creation overlaps with
// hashing instead of following it, and one goroutine does not contend
// with itself for the parent directories' locks. An empty directory left
// by a refused add is harmless.
func (c *collector) makeDirs(dirs <-chan string) {
	for dir := range dirs {
		abs := filepath.Join(c.pool.root, filepath.FromSlash(dir))
		// One mkdir(2) in the common case (the prefix directory is
		// there); MkdirAll only for a new prefix or component.
		err := os.Mkdir(abs, 0o755)
		if errors.Is(err, os.ErrNotExist) {
			if err = os.MkdirAll(filepath.Dir(abs), 0o755); err == nil {
				err = os.Mkdir(abs, 0o755)
			}
		}
		if err == nil {
			// What may have been created, and the component directory
			// holding it.
			prefix := filepath.Dir(abs)
			c.ss.add(abs, prefix, filepath.Dir(prefix), filepath.Dir(filepath.Dir(prefix)))
		}
	}
}

// verifyListed checks every file listed in ctl (Files, Checksums-Sha1,
// Checksums-Sha256) against the files beside the control file at ctlPath and
// returns them with their checksums.
func (c *collector) verifyListed(ctlPath string, ctl stanza) ([]inputFile, error) {
	dir := filepath.Dir(ctlPath)
	lists := []struct{ field, algo string }{{"Files", "MD5"}, {"Checksums-Sha1", "SHA1"}, {"Checksums-Sha256", "SHA256"}}
	files := map[string]*inputFile{}
	var order []string
	for _, l := range lists {
		entries, err := parseFileList(ctl.get(l.field))
		if err != nil {
			return nil, &FileError{Path: ctlPath, Err: fmt.Errorf("%s: %w", l.field, err)}
		}
		for _, e := range entries {
			if !safeName(e.Name) {
				return nil, &UnsafeNameError{In: ctlPath, Name: e.Name}
			}
			in, ok := files[e.Name]
			if !ok {
				p := filepath.Join(dir, e.Name)
				sum, err := c.pool.store(p, c.ss, c.linkable(p))
				if err != nil {
					if errors.Is(err, os.ErrNotExist) {
						err = fmt.Errorf("listed file %s is missing", e.Name)
					}
					return nil, &FileError{Path: ctlPath, Err: err}
				}
				in = &inputFile{Path: p, Name: e.Name, Sum: sum}
				files[e.Name] = in
				order = append(order, e.Name)
			}
			if in.Sum.Size != e.Size {
				return nil, &ChecksumError{Path: in.Path, Algorithm: "Size", Want: strconv.FormatInt(e.Size, 10), Got: strconv.FormatInt(in.Sum.Size, 10)}
			}
			got := map[string]string{"MD5": in.Sum.MD5, "SHA1": in.Sum.SHA1, "SHA256": in.Sum.SHA256}[l.algo]
			if got != e.Sum {
				return nil, &ChecksumError{Path: in.Path, Algorithm: l.algo, Want: e.Sum, Got: got}
			}
		}
	}
	if len(order) == 0 {
		return nil, &FileError{Path: ctlPath, Err: errors.New("lists no files")}
	}
	if ctl.get("Checksums-Sha256") == "" {
		return nil, &FileError{Path: ctlPath, Err: errors.New("no Checksums-Sha256 field")}
	}
	out := make([]inputFile, 0, len(order))
	for _, n := range order {
		out = append(out, *files[n])
	}
	return out, nil
}

// readControlFile parses a single-paragraph, possibly clearsigned control
// file (.dsc, .changes).
func readControlFile(p string) (stanza, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = errors.New("file does not exist")
		}
		return nil, &FileError{Path: p, Err: err}
	}
	st, err := parseStanzas(stripSignature(data))
	if err != nil {
		return nil, &FileError{Path: p, Err: err}
	}
	if len(st) != 1 {
		return nil, &FileError{Path: p, Err: fmt.Errorf("want one paragraph, got %d", len(st))}
	}
	return st[0], nil
}

// collect reads and verifies every file offered to Add, several at a time.
func (c *collector) collect(files []string) (*upload, error) {
	parts := make([]*upload, len(files))
	errs := make([]error, len(files))
	workers := min(collectWorkers(), len(files))
	next := make(chan int)
	if c.components != nil {
		c.dirs = make(chan string, 64)
		done := make(chan struct{})
		go func() { c.makeDirs(c.dirs); close(done) }()
		defer func() { close(c.dirs); <-done; c.dirs = nil }()
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				parts[i], errs[i] = c.collectOne(files[i])
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	u := &upload{}
	for i, p := range parts {
		if errs[i] != nil {
			return nil, errs[i]
		}
		u.Binaries = append(u.Binaries, p.Binaries...)
		u.Sources = append(u.Sources, p.Sources...)
		u.Extras = append(u.Extras, p.Extras...)
		if p.ExtraSrc != "" {
			u.ExtraSrc = p.ExtraSrc
		}
	}
	if len(u.Binaries) == 0 && len(u.Sources) == 0 {
		return nil, &FileError{Path: strings.Join(files, " "), Err: errors.New("no packages to add")}
	}
	return u, nil
}

func (c *collector) collectOne(f string) (*upload, error) {
	u := &upload{}
	abs, err := filepath.Abs(f)
	if err != nil {
		return nil, &FileError{Path: f, Err: err}
	}
	switch ext := filepath.Ext(abs); ext {
	case ".deb", ".udeb":
		b, err := c.readBinary(abs, nil)
		if err != nil {
			return nil, err
		}
		c.prepareDir(b)
		u.Binaries = append(u.Binaries, *b)
	case ".dsc":
		s, err := c.readSource(abs, nil)
		if err != nil {
			return nil, err
		}
		u.Sources = append(u.Sources, *s)
	case ".changes":
		if err := c.addChanges(u, abs); err != nil {
			return nil, err
		}
	default:
		return nil, &FileError{Path: f, Err: fmt.Errorf("unsupported file type %q (want .deb, .udeb, .dsc or .changes)", ext)}
	}
	return u, nil
}

func (c *collector) addChanges(u *upload, p string) error {
	ctl, err := readControlFile(p)
	if err != nil {
		return err
	}
	listed, err := c.verifyListed(p, ctl)
	if err != nil {
		return err
	}
	sum, err := c.pool.store(p, c.ss, c.linkable(p))
	if err != nil {
		return &FileError{Path: p, Err: err}
	}
	u.ExtraSrc = strings.Fields(ctl.get("Source") + " ")[0]
	if u.ExtraSrc == "" {
		return &FileError{Path: p, Err: errors.New("no Source field")}
	}
	u.Extras = append(u.Extras, inputFile{Path: p, Name: filepath.Base(p), Sum: sum})
	for i := range listed {
		in := &listed[i]
		switch filepath.Ext(in.Name) {
		case ".deb", ".udeb":
			b, err := c.readBinary(in.Path, &in.Sum)
			if err != nil {
				return err
			}
			u.Binaries = append(u.Binaries, *b)
		case ".dsc":
			s, err := c.readSource(in.Path, &in.Sum)
			if err != nil {
				return err
			}
			u.Sources = append(u.Sources, *s)
		case ".buildinfo":
			u.Extras = append(u.Extras, *in)
		}
	}
	return nil
}

// readBinary stores a .deb or .udeb (unless sum says it is stored) and
// reads its control file, and its file list when Contents are on.
func (c *collector) readBinary(p string, sum *checksums) (*binaryItem, error) {
	if !safeName(filepath.Base(p)) {
		return nil, &UnsafeNameError{In: p, Name: filepath.Base(p)}
	}
	var head []byte
	if sum == nil {
		hp := headBuffers.get()
		defer func() { *hp = (*hp)[:0]; headBuffers.put(hp) }()
		s, err := c.pool.storeHead(p, c.ss, c.linkable(p), hp, false)
		head = *hp
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				err = errors.New("file does not exist")
			}
			return nil, &FileError{Path: p, Err: err}
		}
		sum = &s
	}
	var contents []string
	var cp *[]string
	if c.withContents {
		if contents = c.pool.contentsOf(sum.SHA256); contents == nil {
			cp = &contents
		}
	}
	ctl, err := readDebControlHead(c.ctx, c.run, c.pool.blobPath(sum.SHA256), head, cp)
	if err != nil {
		return nil, &FileError{Path: p, Err: err}
	}
	if cp != nil {
		if contents == nil {
			contents = []string{}
		}
		if err := c.pool.saveContents(sum.SHA256, contents, c.ss); err != nil {
			return nil, &FileError{Path: p, Err: err}
		}
	}
	b := &binaryItem{
		File:     inputFile{Path: p, Name: filepath.Base(p), Sum: *sum},
		Control:  ctl,
		Package:  ctl.get("Package"),
		Version:  ctl.get("Version"),
		Arch:     ctl.get("Architecture"),
		Udeb:     filepath.Ext(p) == ".udeb",
		Contents: contents,
	}
	if b.Package == "" || b.Version == "" || b.Arch == "" {
		return nil, &FileError{Path: p, Err: errors.New("control file lacks Package, Version or Architecture")}
	}
	if !safeName(b.Package) || !safeName(b.Version) || !safeName(b.Arch) {
		return nil, &FileError{Path: p, Err: errors.New("control file has unsafe Package, Version or Architecture")}
	}
	b.Source, b.SourceVersion = b.Package, b.Version
	if src := strings.Fields(ctl.get("Source")); len(src) > 0 {
		b.Source = src[0]
		if len(src) > 1 {
			b.SourceVersion = strings.Trim(strings.Join(src[1:], ""), "()")
		}
	}
	if !safeName(b.Source) {
		return nil, &FileError{Path: p, Err: fmt.Errorf("unsafe Source %q", b.Source)}
	}
	return b, nil
}

// readSource reads a .dsc and verifies and stores the files it lists.
func (c *collector) readSource(p string, sum *checksums) (*sourceItem, error) {
	if !safeName(filepath.Base(p)) {
		return nil, &UnsafeNameError{In: p, Name: filepath.Base(p)}
	}
	ctl, err := readControlFile(p)
	if err != nil {
		return nil, err
	}
	files, err := c.verifyListed(p, ctl)
	if err != nil {
		return nil, err
	}
	if sum == nil {
		s, err := c.pool.store(p, c.ss, c.linkable(p))
		if err != nil {
			return nil, &FileError{Path: p, Err: err}
		}
		sum = &s
	}
	s := &sourceItem{
		DSC:     inputFile{Path: p, Name: filepath.Base(p), Sum: *sum},
		Files:   files,
		Control: ctl,
		Package: ctl.get("Source"),
		Version: ctl.get("Version"),
	}
	if s.Package == "" || s.Version == "" || !safeName(s.Package) || !safeName(s.Version) {
		return nil, &FileError{Path: p, Err: errors.New("missing or unsafe Source or Version")}
	}
	return s, nil
}

// collectWorkers is how many files collect reads at once: more than the
// CPUs, because a worker spends much of a package with Contents waiting
// for the xz(1) that decompresses its data member, and its process's
// start and end. With 2 CPUs, 1,200 packages with Contents take 13-14 s
// with 16 workers against 19-20 s with 2; without Contents the count
// makes no measurable difference.
func collectWorkers() int {
	return max(16, runtime.GOMAXPROCS(0))
}
