package archive

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/sign"
)

// fakeArchive is a signed APT archive on disk served by httptest.
type fakeArchive struct {
	t       *testing.T
	root    string
	key     *sign.Key
	keyring string // path of the binary public keyring
	srv     *httptest.Server
	now     time.Time
	// detached publishes Release and Release.gpg instead of InRelease.
	detached bool

	mu       sync.Mutex
	requests []string
	// conditional records the validator headers of each InRelease request.
	conditional []string
	// etag, when set, is sent as the InRelease ETag and honoured.
	etag string
	fail map[string]int // URL path -> status to answer
	// failTimes answers 503 to a URL path this many times, then serves it.
	failTimes map[string]int
	// stallPrefix makes requests under it send half the file, signal
	// stalled, and hang until the client goes away.
	stallPrefix string
	stalled     chan struct{}
}

func newFakeArchive(t *testing.T) *fakeArchive {
	t.Helper()
	key, err := sign.Generate("Fake Archive", "archive@example.org")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeArchive{t: t, root: t.TempDir(), key: key, now: time.Now().UTC().Truncate(time.Second), fail: map[string]int{}}
	pub, err := key.PublicBinary()
	if err != nil {
		t.Fatal(err)
	}
	f.keyring = filepath.Join(t.TempDir(), "fake.gpg")
	if err := os.WriteFile(f.keyring, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	fs := http.FileServer(http.Dir(f.root))
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.URL.Path)
		status := f.fail[r.URL.Path]
		if f.failTimes[r.URL.Path] > 0 {
			f.failTimes[r.URL.Path]--
			status = http.StatusServiceUnavailable
		}
		stall := f.stallPrefix != "" && strings.HasPrefix(r.URL.Path, f.stallPrefix)
		etag := f.etag
		if strings.HasSuffix(r.URL.Path, "/InRelease") {
			f.conditional = append(f.conditional, r.Header.Get("If-None-Match")+"|"+r.Header.Get("If-Modified-Since"))
		}
		f.mu.Unlock()
		if etag != "" && strings.HasSuffix(r.URL.Path, "/InRelease") {
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", etag)
		}
		if status != 0 {
			http.Error(w, "injected", status)
			return
		}
		if stall {
			data, _ := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(r.URL.Path)))
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			select {
			case f.stalled <- struct{}{}:
			default:
			}
			<-r.Context().Done()
			return
		}
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// takeRequests returns and clears the request log.
func (f *fakeArchive) takeRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.requests
	f.requests = nil
	return r
}

func (f *fakeArchive) write(rel string, data []byte) {
	f.t.Helper()
	p := filepath.Join(f.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

type fakeSource struct {
	name, version, dir string
	files              map[string][]byte // name -> content, without the .dsc
	// dscFiles overrides the file list written into the .dsc.
	dscFiles map[string][]byte
	// rawChecksums replaces the Checksums-Sha256 lines in Sources.
	rawChecksums string
	// noBinary leaves the source out of Packages.
	noBinary bool
	// binaries is the Binary field (the source name when empty).
	binaries string
}

func sum(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// dsc returns the .dsc text for s.
func (s fakeSource) dsc() []byte {
	files := s.files
	if s.dscFiles != nil {
		files = s.dscFiles
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Format: 3.0 (quilt)\nSource: %s\nVersion: %s\nChecksums-Sha256:\n", s.name, s.version)
	for _, n := range sortedKeys(files) {
		fmt.Fprintf(&b, " %s %d %s\n", sum(files[n]), len(files[n]), n)
	}
	return []byte(b.String())
}

func sortedKeys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (s fakeSource) dscName() string { return s.name + "_" + s.version + ".dsc" }

// stanza returns the Sources stanza for s.
func (s fakeSource) stanza() string {
	var b strings.Builder
	bins := s.binaries
	if bins == "" {
		bins = s.name
	}
	fmt.Fprintf(&b, "Package: %s\nBinary: %s\nVersion: %s\nDirectory: %s\nChecksums-Sha256:\n", s.name, bins, s.version, s.dir)
	if s.rawChecksums != "" {
		b.WriteString(s.rawChecksums)
	} else {
		d := s.dsc()
		fmt.Fprintf(&b, " %s %d %s\n", sum(d), len(d), s.dscName())
		for _, n := range sortedKeys(s.files) {
			fmt.Fprintf(&b, " %s %d %s\n", sum(s.files[n]), len(s.files[n]), n)
		}
	}
	return b.String()
}

// publish writes pool files for srcs and a signed suite with Sources and
// Packages (Packages lists one binary per source).
func (f *fakeArchive) publish(suite string, srcs []fakeSource, opts ...func(*string)) {
	f.t.Helper()
	var sources, packages strings.Builder
	for i, s := range srcs {
		if i > 0 {
			sources.WriteString("\n")
		}
		sources.WriteString(s.stanza())
		if s.rawChecksums == "" && !strings.Contains(s.dir, "..") {
			f.write(s.dir+"/"+s.dscName(), s.dsc())
			for n, c := range s.files {
				f.write(s.dir+"/"+n, c)
			}
		}
		if s.noBinary {
			continue
		}
		if packages.Len() > 0 {
			packages.WriteString("\n")
		}
		deb := []byte("deb of " + s.name + " " + s.version)
		debPath := fmt.Sprintf("%s/%s_%s_amd64.deb", s.dir, s.name, s.version[strings.Index(s.version, ":")+1:]) // pool names drop the epoch
		if !strings.Contains(s.dir, "..") && !strings.HasPrefix(s.dir, "/") {
			f.write(debPath, deb)
		}
		fmt.Fprintf(&packages, "Package: %s\nVersion: %s\nArchitecture: amd64\nFilename: %s\nSize: %d\nSHA256: %s\n",
			s.name, s.version, debPath, len(deb), sum(deb))
	}
	entries := map[string][]byte{}
	add := func(path string, plain []byte, xzOnly bool) {
		entries[path] = plain
		entries[path+".xz"] = xzBytes(f.t, plain)
		if !xzOnly {
			entries[path+".gz"] = gzBytes(f.t, plain)
		}
	}
	add("main/source/Sources", []byte(sources.String()), false)
	add("main/binary-amd64/Packages", []byte(packages.String()), true)
	var rel strings.Builder
	fmt.Fprintf(&rel, "Origin: Fake\nLabel: Fake\nSuite: %s\nCodename: %s\nDate: %s\nAcquire-By-Hash: yes\nArchitectures: amd64\nComponents: main\nSHA256:\n",
		suite, suite, f.now.Format(time.RFC1123))
	for _, p := range sortedKeys(entries) {
		fmt.Fprintf(&rel, " %s %d %s\n", sum(entries[p]), len(entries[p]), p)
		if !strings.HasSuffix(p, "Sources") && !strings.HasSuffix(p, "Packages") {
			// Like Debian mirrors: only compressed files exist, by name and by hash.
			f.write("dists/"+suite+"/"+p, entries[p])
			f.write("dists/"+suite+"/"+filepath.Dir(p)+"/by-hash/SHA256/"+sum(entries[p]), entries[p])
		}
	}
	text := rel.String()
	for _, o := range opts {
		o(&text)
	}
	if f.detached {
		sig, err := f.key.DetachSign([]byte(text))
		if err != nil {
			f.t.Fatal(err)
		}
		f.write("dists/"+suite+"/Release", []byte(text))
		f.write("dists/"+suite+"/Release.gpg", sig)
		return
	}
	signed, err := f.key.ClearSign([]byte(text))
	if err != nil {
		f.t.Fatal(err)
	}
	f.write("dists/"+suite+"/InRelease", signed)
}

func gzBytes(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func xzBytes(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pantry returns a pantry over a fresh workspace configured for f's suites.
func (f *fakeArchive) pantry(suites ...string) *Pantry {
	f.t.Helper()
	cfg := config.Default(f.t.TempDir(), "bookworm", "amd64", []config.Archive{{
		Name: "fake", URI: f.srv.URL + "/", Suites: suites, SignedBy: f.keyring,
	}})
	p, err := OpenPantry(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func helloSource(version string) fakeSource {
	return fakeSource{
		name: "hello", version: version, dir: "pool/main/h/hello",
		files: map[string][]byte{
			"hello_" + strings.Split(version, "-")[0] + ".orig.tar.gz": []byte("orig tarball " + version),
			"hello_" + version + ".debian.tar.xz":                      []byte("debian dir " + version),
		},
	}
}
