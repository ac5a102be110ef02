package archive

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/renameio/v2"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/record"
	"github.com/packyard/packyard/internal/sign"
)

// Suite refresh outcomes in SuiteResult.Status.
const (
	StatusFresh     = "fresh"     // within the TTL: no network
	StatusUnchanged = "unchanged" // InRelease not modified
	StatusUpdated   = "updated"   // a new generation was stored
	// StatusOffline: offline mode checked the stored suite instead (Status
	// with Verify) and found it whole; otherwise Status is StateMissing or
	// StateCorrupt.
	StatusOffline = "offline-ok"
)

// RefreshOptions tunes Refresh.
type RefreshOptions struct {
	// Force ignores the TTL and the validators and re-checks every index.
	Force bool
	// Archives limits the refresh to these archive names (all when empty).
	Archives []string
	// Parallel is the number of concurrent downloads (default 4).
	Parallel int
	// Progress shows downloads; nil means log lines only.
	Progress Progress
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// SuiteResult says what Refresh did for one archive suite.
type SuiteResult struct {
	Archive    string        `json:"archive"`
	Suite      string        `json:"suite"`
	Status     string        `json:"status"`
	Downloaded int64         `json:"downloaded_bytes"`
	Fetched    []string      `json:"fetched,omitempty"` // index paths downloaded
	Duration   time.Duration `json:"duration_ns"`
}

// Refresh brings the pantry up to date for every configured archive and
// suite: it downloads InRelease, verifies it with the archive's keyring,
// checks its dates, and downloads (by hash when the Release allows) the
// Sources and Packages indexes whose hashes changed, checking size and
// SHA256 of the compressed and the uncompressed file. Each suite gets a new
// generation swapped in atomically. Suites are refreshed concurrently; the
// error joins every suite's failure (*FetchError, *HashMismatchError,
// sign.ErrBadSignature, ...).
func (p *Pantry) Refresh(ctx context.Context, rec *record.Run, opts RefreshOptions) ([]SuiteResult, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if p.client.Offline() {
		return p.offlineRefresh(opts)
	}
	r := &refresher{p: p, rec: rec, opts: opts, sem: make(chan struct{}, opts.Parallel)}
	type job struct {
		a     config.Archive
		suite string
	}
	var jobs []job
	for _, a := range p.cfg.Archives {
		if len(opts.Archives) > 0 && !contains(opts.Archives, a.Name) {
			continue
		}
		for _, s := range a.Suites {
			jobs = append(jobs, job{a, s})
		}
	}
	results := make([]SuiteResult, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			res, err := r.suite(ctx, j.a, j.suite)
			res.Archive, res.Suite, res.Duration = j.a.Name, j.suite, time.Since(start)
			results[i] = res
			if err != nil {
				errs[i] = fmt.Errorf("refreshing %s %s: %w", j.a.Name, j.suite, err)
				rec.Event("refresh.error", map[string]any{"archive": j.a.Name, "suite": j.suite, "error": err.Error()})
				return
			}
			p.logger.Info("refreshed", "archive", j.a.Name, "suite", j.suite, "status", res.Status,
				"downloaded", res.Downloaded, "duration", res.Duration.Round(time.Millisecond))
			rec.Event("refresh.suite", map[string]any{"archive": j.a.Name, "suite": j.suite, "status": res.Status,
				"downloaded_bytes": res.Downloaded, "fetched": res.Fetched})
		}()
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

// offlineRefresh is Refresh without network: it checks what the pantry
// holds (Status with Verify) and reports one result per suite. The error is
// the *StatusError when anything is missing or corrupt.
func (p *Pantry) offlineRefresh(opts RefreshOptions) ([]SuiteResult, error) {
	rows, err := p.Status(StatusOptions{Verify: true, Now: opts.Now})
	var out []SuiteResult
	seen := map[[2]string]int{}
	for _, r := range rows {
		if len(opts.Archives) > 0 && !contains(opts.Archives, r.Archive) {
			continue
		}
		k := [2]string{r.Archive, r.Suite}
		i, ok := seen[k]
		if !ok {
			i = len(out)
			seen[k] = i
			out = append(out, SuiteResult{Archive: r.Archive, Suite: r.Suite, Status: StatusOffline})
		}
		switch {
		case r.State == StateCorrupt:
			out[i].Status = StateCorrupt
		case r.State == StateMissing && out[i].Status != StateCorrupt:
			out[i].Status = StateMissing
		}
	}
	return out, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type refresher struct {
	p    *Pantry
	rec  *record.Run
	opts RefreshOptions
	sem  chan struct{}
}

func (r *refresher) suite(ctx context.Context, a config.Archive, suite string) (SuiteResult, error) {
	var res SuiteResult
	if strings.Contains(suite, "..") || strings.HasPrefix(suite, "/") {
		return res, fmt.Errorf("bad suite name %q", suite)
	}
	unlock, err := r.p.lockSuite(a.Name, suite)
	if err != nil {
		return res, err
	}
	defer unlock()
	cur := r.p.SuiteDir(a.Name, suite)
	old, _ := readMeta(cur) // nil when never refreshed or unreadable
	now := r.opts.Now().UTC()
	complete := old != nil && r.complete(cur, old, a)
	expired := old != nil && !old.ValidUntil.IsZero() && now.After(old.ValidUntil)
	if complete && !expired && !r.opts.Force && now.Sub(old.Checked) < time.Duration(a.TTL) {
		res.Status = StatusFresh
		return res, nil
	}
	conditional := complete && !expired && !r.opts.Force
	in, err := r.inRelease(ctx, a, suite, old, conditional, now)
	if in != nil {
		res.Downloaded = int64(len(in.body))
	}
	if err != nil {
		return res, err
	}
	if in.notModified || conditional && in.sha256 == old.InReleaseSHA256 {
		res.Status = StatusUnchanged
		if !in.notModified {
			old.ETag, old.LastModified = in.etag, in.lastModified
		}
		return res, r.touch(cur, old, now)
	}
	meta := &SuiteMeta{
		Archive: a.Name, URI: a.URI, Suite: suite, Codename: in.rel.Codename,
		InReleaseURL: in.url, InReleaseSHA256: in.sha256, InReleaseSize: int64(len(in.body)),
		ETag: in.etag, LastModified: in.lastModified, Signer: in.signer,
		Date: in.rel.Date, ValidUntil: in.rel.ValidUntil, AcquireByHash: in.rel.AcquireByHash,
		Fetched: now, Checked: now, Detached: in.sig != nil,
	}
	gen, err := r.build(ctx, a, suite, cur, old, in, meta, &res)
	if err != nil {
		return res, err
	}
	res.Status = StatusUpdated
	if old != nil && in.sha256 == old.InReleaseSHA256 && len(res.Fetched) == 0 {
		res.Status = StatusUnchanged // forced: re-verified, nothing new
	}
	return res, swapGeneration(cur, gen)
}

// inReleaseFile is a downloaded, verified and parsed InRelease.
type inReleaseFile struct {
	url, sha256, signer string
	etag, lastModified  string
	body, plain         []byte
	rel                 *Release
	notModified         bool // a 304 answer: nothing else is set
	// sig is the detached Release.gpg when the archive has no InRelease;
	// body is then the Release file.
	sig []byte
}

// inRelease downloads suite's InRelease (conditionally, with the stored
// validators), verifies its signature with the archive keyring and checks
// its dates against now and the stored generation.
func (r *refresher) inRelease(ctx context.Context, a config.Archive, suite string, old *SuiteMeta, conditional bool, now time.Time) (*inReleaseFile, error) {
	in := &inReleaseFile{url: distsURL(a.URI, suite, "InRelease")}
	var etag, lastMod string
	if conditional {
		etag, lastMod = old.ETag, old.LastModified
	}
	resp, err := r.p.client.get(ctx, in.url, 64<<20, etag, lastMod)
	var fe *FetchError
	if errors.As(err, &fe) && fe.Status == http.StatusNotFound && (old == nil || old.Detached) {
		return r.detachedRelease(ctx, a, suite, old, conditional, now)
	}
	if err != nil {
		return nil, err
	}
	in.body, in.etag, in.lastModified = resp.Body, resp.ETag, resp.LastModified
	if resp.Status == http.StatusNotModified {
		in.notModified = true
		return in, nil
	}
	keyring, err := readKeyring(a.SignedBy)
	if err != nil {
		return in, err
	}
	in.plain, in.signer, err = sign.VerifyClearSigned(keyring, resp.Body)
	if err != nil {
		return in, fmt.Errorf("verifying %s with %s: %w", in.url, keyringName(a.SignedBy), err)
	}
	return in, r.checkInRelease(in, suite, old, now)
}

// detachedRelease is inRelease for archives that publish only Release and
// Release.gpg (apt's fallback when InRelease is missing).
func (r *refresher) detachedRelease(ctx context.Context, a config.Archive, suite string, old *SuiteMeta, conditional bool, now time.Time) (*inReleaseFile, error) {
	in := &inReleaseFile{url: distsURL(a.URI, suite, "Release")}
	var etag, lastMod string
	if conditional {
		etag, lastMod = old.ETag, old.LastModified
	}
	resp, err := r.p.client.get(ctx, in.url, 64<<20, etag, lastMod)
	if err != nil {
		return nil, err
	}
	in.body, in.plain, in.etag, in.lastModified = resp.Body, resp.Body, resp.ETag, resp.LastModified
	if resp.Status == http.StatusNotModified {
		in.notModified = true
		return in, nil
	}
	sig, err := r.p.client.get(ctx, in.url+".gpg", 1<<20, "", "")
	if err != nil {
		return in, err
	}
	in.sig = sig.Body
	keyring, err := readKeyring(a.SignedBy)
	if err != nil {
		return in, err
	}
	if in.signer, err = sign.VerifyDetached(keyring, in.body, in.sig); err != nil {
		return in, fmt.Errorf("verifying %s.gpg with %s: %w", in.url, keyringName(a.SignedBy), err)
	}
	return in, r.checkInRelease(in, suite, old, now)
}

// checkInRelease hashes, parses and date-checks a verified Release.
func (r *refresher) checkInRelease(in *inReleaseFile, suite string, old *SuiteMeta, now time.Time) error {
	sum := sha256.Sum256(in.body)
	in.sha256 = hex.EncodeToString(sum[:])
	var err error
	if in.rel, err = ParseRelease(in.plain); err != nil {
		return fmt.Errorf("%s: %w", in.url, err)
	}
	var prevDate time.Time
	if old != nil {
		prevDate = old.Date
	}
	if err := checkRelease(in.rel, suite, now, prevDate); err != nil {
		return fmt.Errorf("%s: %w", in.url, err)
	}
	return nil
}

// complete reports whether the generation at dir has every index a needs.
func (r *refresher) complete(dir string, m *SuiteMeta, a config.Archive) bool {
	for _, w := range wantedIndexes(a) {
		im := m.Index(w[0], w[1])
		if im == nil {
			return false
		}
		if im.Absent {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, im.Path)); err != nil || fi.Size() != im.Size {
			return false
		}
	}
	return true
}

// touch records that the mirror was checked and nothing changed.
func (r *refresher) touch(dir string, m *SuiteMeta, now time.Time) error {
	m.Checked = now
	return writeMeta(dir, m)
}

func writeMeta(dir string, m *SuiteMeta) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding meta.json: %w", err)
	}
	if err := renameio.WriteFile(filepath.Join(dir, "meta.json"), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing meta.json: %w", err)
	}
	return nil
}

// build writes a complete new generation directory and returns its path.
// On failure the directory is removed.
func (r *refresher) build(ctx context.Context, a config.Archive, suite, cur string, old *SuiteMeta,
	in *inReleaseFile, meta *SuiteMeta, res *SuiteResult) (gen string, err error) {
	rel := in.rel
	genRoot := filepath.Join(r.p.dir, a.Name, ".gen")
	if err := os.MkdirAll(genRoot, 0o755); err != nil {
		return "", fmt.Errorf("creating pantry: %w", err)
	}
	dir := filepath.Join(genRoot, suiteDirName(suite)+"."+time.Now().UTC().Format("20060102T150405")+"."+randHex())
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating pantry generation: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	gen = dir
	if err := writeRelease(gen, in); err != nil {
		return "", err
	}
	wanted := wantedIndexes(a)
	metas := make([]IndexMeta, len(wanted))
	errs := make([]error, len(wanted))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, w := range wanted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			im, fetched, err := r.index(ctx, a, suite, cur, gen, old, rel, w[0], w[1])
			metas[i], errs[i] = im, err
			if err == nil && fetched {
				mu.Lock()
				res.Fetched = append(res.Fetched, im.Path)
				res.Downloaded += im.Downloaded.Size
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	meta.Indexes = metas
	if err := writeMeta(gen, meta); err != nil {
		return "", err
	}
	if err := syncDir(gen); err != nil {
		return "", err
	}
	return gen, nil
}

// writeRelease stores the verified Release: InRelease and its plaintext
// Release, or Release and Release.gpg for a detached signature.
func writeRelease(gen string, in *inReleaseFile) error {
	files := map[string][]byte{"Release": in.plain, "InRelease": in.body}
	if in.sig != nil {
		files = map[string][]byte{"Release": in.body, "Release.gpg": in.sig}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(gen, name), data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

func randHex() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// swapGeneration points the suite symlink cur at gen and removes
// generations older than the one it replaced.
func swapGeneration(cur, gen string) error {
	prev, _ := os.Readlink(cur)
	rel, err := filepath.Rel(filepath.Dir(cur), gen)
	if err != nil {
		return fmt.Errorf("swapping pantry generation: %w", err)
	}
	if fi, err := os.Lstat(cur); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("swapping pantry generation: %s is not a symlink", cur)
	}
	if err := renameio.Symlink(rel, cur); err != nil {
		return fmt.Errorf("swapping pantry generation: %w", err)
	}
	// Keep the previous generation for readers that resolved the old link a
	// moment ago; drop anything older.
	genRoot := filepath.Dir(gen)
	prefix := filepath.Base(cur) + "."
	entries, _ := os.ReadDir(genRoot)
	for _, e := range entries {
		p := filepath.Join(genRoot, e.Name())
		if strings.HasPrefix(e.Name(), prefix) && p != gen && (prev == "" || p != filepath.Join(filepath.Dir(cur), prev)) {
			os.RemoveAll(p)
		}
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer f.Close()
	_ = f.Sync()
	return nil
}

// distsURL joins a mirror URI, dists/<suite> and a relative path.
func distsURL(uri, suite, rel string) string {
	return strings.TrimRight(uri, "/") + "/dists/" + suite + "/" + rel
}
