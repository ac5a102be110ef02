package archive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/deb822"
	"github.com/packyard/packyard/internal/sign"
)

func TestRefresh(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("2.10-3")})
	p := f.pantry("stable")
	ctx := context.Background()
	res, err := p.Refresh(ctx, nil, RefreshOptions{})
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if len(res) != 1 || res[0].Status != StatusUpdated || len(res[0].Fetched) != 2 {
		t.Fatalf("Refresh results = %+v; want one updated suite with 2 fetched indexes", res)
	}
	reqs := f.takeRequests()
	for _, r := range reqs[1:] {
		if !strings.Contains(r, "/by-hash/SHA256/") {
			t.Errorf("index request %s is not by hash", r)
		}
	}
	m, err := p.Meta("fake", "stable")
	if err != nil {
		t.Fatal(err)
	}
	src := m.Index("main", "source")
	if src == nil || src.Stanzas != 1 || !strings.HasSuffix(src.URL, ".gz") && !strings.Contains(src.URL, "by-hash") {
		t.Errorf("Sources meta = %+v", src)
	}
	data, err := os.ReadFile(filepath.Join(p.SuiteDir("fake", "stable"), "main/binary-amd64/Packages"))
	if err != nil || !strings.HasPrefix(string(data), "Package: hello\n") {
		t.Errorf("stored Packages = %q, %v", data, err)
	}

	// Within the TTL: no network at all.
	res, err = p.Refresh(ctx, nil, RefreshOptions{})
	if err != nil || res[0].Status != StatusFresh {
		t.Fatalf("second Refresh = %+v, %v; want fresh", res, err)
	}
	if r := f.takeRequests(); len(r) != 0 {
		t.Errorf("fresh refresh made requests %v", r)
	}

	// Past the TTL, InRelease unchanged: only InRelease is fetched.
	later := func() time.Time { return time.Now().Add(7 * time.Hour) }
	res, err = p.Refresh(ctx, nil, RefreshOptions{Now: later})
	if err != nil || res[0].Status != StatusUnchanged {
		t.Fatalf("refresh after TTL = %+v, %v; want unchanged", res, err)
	}
	if r := f.takeRequests(); !slices.Equal(r, []string{"/dists/stable/InRelease"}) {
		t.Errorf("unchanged refresh requests = %v; want only InRelease", r)
	}

	// A new InRelease where only Sources changed: Packages is reused.
	f.now = f.now.Add(time.Minute)
	newer := helloSource("2.10-4")
	newer.noBinary = true
	f.publish("stable", []fakeSource{helloSource("2.10-3"), newer})
	res, err = p.Refresh(ctx, nil, RefreshOptions{Force: true})
	if err != nil || res[0].Status != StatusUpdated {
		t.Fatalf("refresh after change = %+v, %v", res, err)
	}
	if !slices.Equal(res[0].Fetched, []string{"main/source/Sources"}) {
		t.Errorf("fetched %v; want only main/source/Sources (Packages unchanged)", res[0].Fetched)
	}
	// Old generations beyond the previous one are cleaned up.
	gens, _ := os.ReadDir(filepath.Join(p.Dir(), "fake", ".gen"))
	if len(gens) > 2 {
		t.Errorf("%d generations kept; want at most 2", len(gens))
	}
}

// refreshFails refreshes and checks the error and that the pantry still
// holds the previous generation.
func refreshFails(t *testing.T, p *Pantry, opts RefreshOptions, check func(error) bool) {
	t.Helper()
	before, _ := os.Readlink(p.SuiteDir("fake", "stable"))
	opts.Force = true
	_, err := p.Refresh(context.Background(), nil, opts)
	if err == nil || !check(err) {
		t.Fatalf("Refresh error = %v; not the expected kind", err)
	}
	after, _ := os.Readlink(p.SuiteDir("fake", "stable"))
	if before != after {
		t.Errorf("failed refresh moved the suite from %s to %s", before, after)
	}
	if before != "" {
		if _, err := p.Meta("fake", "stable"); err != nil {
			t.Errorf("previous generation unusable: %v", err)
		}
	}
	gens, _ := os.ReadDir(filepath.Join(p.Dir(), "fake", ".gen"))
	if n := len(gens); before == "" && n != 0 || before != "" && n != 1 {
		t.Errorf("failed refresh left %d generations", n)
	}
}

func TestRefreshBadSignature(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	p := f.pantry("stable")
	if _, err := p.Refresh(context.Background(), nil, RefreshOptions{}); err != nil {
		t.Fatal(err)
	}
	other, err := sign.Generate("Mallory", "m@example.org")
	if err != nil {
		t.Fatal(err)
	}
	f.key = other
	f.now = f.now.Add(time.Minute)
	f.publish("stable", []fakeSource{helloSource("1-2")})
	refreshFails(t, p, RefreshOptions{}, func(err error) bool { return errors.Is(err, sign.ErrBadSignature) })

	// A tampered body under a good signature block fails too.
	data, _ := os.ReadFile(filepath.Join(f.root, "dists/stable/InRelease"))
	f.write("dists/stable/InRelease", []byte(strings.Replace(string(data), "Label: Fake", "Label: Evil", 1)))
	refreshFails(t, p, RefreshOptions{}, func(err error) bool { return errors.Is(err, sign.ErrBadSignature) })
}

func TestRefreshHashMismatch(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	p := f.pantry("stable")
	if _, err := p.Refresh(context.Background(), nil, RefreshOptions{}); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Minute)
	f.publish("stable", []fakeSource{helloSource("1-2")})
	// Replace the by-hash Sources.gz with other bytes of the same size.
	matches, _ := filepath.Glob(filepath.Join(f.root, "dists/stable/main/source/by-hash/SHA256/*"))
	for _, m := range matches {
		data, _ := os.ReadFile(m)
		data[len(data)/2] ^= 0xff
		os.WriteFile(m, data, 0o644)
	}
	refreshFails(t, p, RefreshOptions{}, func(err error) bool {
		var hm *HashMismatchError
		// The error names the index as the Release lists it.
		return errors.As(err, &hm) && hm.What == "SHA256" && strings.HasPrefix(hm.File, "main/source/Sources")
	})
}

func TestRefreshMissingFile(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	p := f.pantry("stable")
	matches, _ := filepath.Glob(filepath.Join(f.root, "dists/stable/main/binary-amd64/by-hash/SHA256/*"))
	for _, m := range matches {
		os.Remove(m)
	}
	os.Remove(filepath.Join(f.root, "dists/stable/main/binary-amd64/Packages.xz"))
	refreshFails(t, p, RefreshOptions{}, func(err error) bool {
		var fe *FetchError
		return errors.As(err, &fe) && fe.Status == 404 && strings.Contains(fe.URL, "Packages.xz") &&
			strings.Contains(err.Error(), "packyard refresh")
	})
}

func TestRefreshByHashFallback(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	p := f.pantry("stable")
	matches, _ := filepath.Glob(filepath.Join(f.root, "dists/stable/main/source/by-hash/SHA256/*"))
	for _, m := range matches {
		os.Remove(m)
	}
	if _, err := p.Refresh(context.Background(), nil, RefreshOptions{}); err != nil {
		t.Fatalf("Refresh with by-hash missing: %v", err)
	}
}

func TestRefreshReleaseChecks(t *testing.T) {
	tests := []struct {
		name string
		edit func(*string)
		want string
	}{
		{"expired", func(s *string) {
			*s = strings.Replace(*s, "Acquire-By-Hash", "Valid-Until: Mon, 01 Jan 2001 00:00:00 UTC\nAcquire-By-Hash", 1)
		}, "expired"},
		{"future", func(s *string) {
			*s = regexpReplaceDate(*s, time.Now().Add(48*time.Hour))
		}, "in the future"},
		{"wrong suite", func(s *string) {
			*s = strings.ReplaceAll(*s, "stable", "oldstable")
		}, "not \"stable\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeArchive(t)
			f.publish("stable", []fakeSource{helloSource("1-1")}, tt.edit)
			p := f.pantry("stable")
			refreshFails(t, p, RefreshOptions{}, func(err error) bool { return strings.Contains(err.Error(), tt.want) })
		})
	}
}

func TestRefreshRollback(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-2")})
	p := f.pantry("stable")
	if _, err := p.Refresh(context.Background(), nil, RefreshOptions{}); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(-time.Hour)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	refreshFails(t, p, RefreshOptions{}, func(err error) bool { return strings.Contains(err.Error(), "rollback") })
}

func TestRefreshOffline(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	f.publish("testing", []fakeSource{helloSource("1-2")})
	p := f.pantry("stable", "testing")
	p.SetClient(NewClient(true))
	res, err := p.Refresh(context.Background(), nil, RefreshOptions{})
	if !errors.Is(err, ErrPantryMissing) || len(res) != 2 || res[0].Status != StateMissing {
		t.Fatalf("offline Refresh of an empty pantry = %+v, %v; want both suites missing", res, err)
	}
	p.SetClient(NewClient(false))
	refreshedPantry(t, p)
	f.takeRequests()
	p.SetClient(NewClient(true))
	os.Remove(filepath.Join(p.SuiteDir("fake", "testing"), "main/source/Sources"))
	res, err = p.Refresh(context.Background(), nil, RefreshOptions{Force: true})
	if !errors.Is(err, ErrPantryMissing) || res[0].Status != StatusOffline || res[1].Status != StateMissing {
		t.Fatalf("offline Refresh = %+v, %v; want stable ok and testing missing", res, err)
	}
	if r := f.takeRequests(); len(r) != 0 {
		t.Errorf("offline refresh made requests %v", r)
	}
	// The offline client refuses even a direct download.
	err = NewClient(true).download(context.Background(), f.srv.URL+"/dists/stable/InRelease", filepath.Join(t.TempDir(), "x"), 1, "", "", nil)
	if !errors.Is(err, ErrOffline) {
		t.Errorf("offline download = %v; want ErrOffline", err)
	}
}

func regexpReplaceDate(s string, d time.Time) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Date: ") {
			lines[i] = "Date: " + d.UTC().Format(time.RFC1123)
		}
	}
	return strings.Join(lines, "\n")
}

func TestLoadIndex(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1"), {name: "dash", version: "0.5-1", dir: "pool/main/d/dash", files: map[string][]byte{"dash_0.5.orig.tar.gz": []byte("x")}}})
	p := f.pantry("stable")
	if _, err := p.LoadIndex(Selection{}); !errors.Is(err, ErrNotRefreshed) {
		t.Errorf("LoadIndex before refresh = %v; want ErrNotRefreshed", err)
	}
	if _, err := p.Refresh(context.Background(), nil, RefreshOptions{}); err != nil {
		t.Fatal(err)
	}
	idx, err := p.LoadIndex(Selection{})
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Sources) != 1 || len(idx.Packages) != 1 {
		t.Fatalf("LoadIndex gave %d Sources and %d Packages indexes; want 1 and 1", len(idx.Sources), len(idx.Packages))
	}
	want := IndexKey{"fake", "stable", "main", "amd64"}
	if idx.Packages[0].IndexKey != want {
		t.Errorf("Packages key = %+v; want %+v", idx.Packages[0].IndexKey, want)
	}
	var names []string
	for _, para := range idx.Sources[0].Paragraphs {
		names = append(names, para.Get("package"))
	}
	if !slices.Equal(names, []string{"hello", "dash"}) {
		t.Errorf("Sources packages = %v; want [hello dash]", names)
	}
	var _ deb822.Paragraph = idx.Packages[0].Paragraphs[0]
}

func TestRefreshValidators(t *testing.T) {
	f := newFakeArchive(t)
	f.etag = `"v1"`
	f.publish("stable", []fakeSource{helloSource("1-1")})
	p := refreshed(t, f, "stable")
	later := func() time.Time { return time.Now().Add(7 * time.Hour) }
	res, err := p.Refresh(context.Background(), nil, RefreshOptions{Now: later})
	if err != nil || res[0].Status != StatusUnchanged || res[0].Downloaded != 0 {
		t.Fatalf("conditional refresh = %+v, %v; want unchanged with nothing downloaded (304)", res, err)
	}
	// Forced: no validators sent.
	if _, err := p.Refresh(context.Background(), nil, RefreshOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	cond := f.conditional
	f.mu.Unlock()
	if len(cond) != 3 || !strings.HasPrefix(cond[0], "|") || !strings.HasPrefix(cond[1], `"v1"|`) || cond[2] != "|" {
		t.Errorf("validators sent = %q; want none, then If-None-Match, then none (forced)", cond)
	}
	// The TTL counts from the last check.
	res, _ = p.Refresh(context.Background(), nil, RefreshOptions{Now: func() time.Time { return time.Now().Add(time.Minute) }})
	if res[0].Status != StatusFresh {
		t.Errorf("refresh a minute after the last check = %s; want fresh", res[0].Status)
	}
}

// TestRefreshExpiredNotFresh: a stored Release past Valid-Until is not
// fresh whatever the TTL says, and an expired mirror is an error.
func TestRefreshExpiredNotFresh(t *testing.T) {
	f := newFakeArchive(t)
	validUntil := time.Now().Add(time.Hour).UTC().Format(time.RFC1123)
	f.publish("stable", []fakeSource{helloSource("1-1")}, func(s *string) {
		*s = strings.Replace(*s, "Acquire-By-Hash", "Valid-Until: "+validUntil+"\nAcquire-By-Hash", 1)
	})
	p := refreshed(t, f, "stable")
	f.takeRequests()
	in2h := func() time.Time { return time.Now().Add(2 * time.Hour) }
	_, err := p.Refresh(context.Background(), nil, RefreshOptions{Now: in2h})
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Refresh past Valid-Until = %v; want an expired error", err)
	}
	if r := f.takeRequests(); len(r) != 1 {
		t.Errorf("requests = %v; want the InRelease re-checked", r)
	}
	rows, _ := p.Status(StatusOptions{Now: in2h})
	if !rows[0].Expired || rows[0].State != StateOK {
		t.Errorf("Status row = %+v; want ok but expired", rows[0])
	}
}

// TestRefreshBinaryOnlyArchive accepts an archive without Sources indexes.
func TestRefreshBinaryOnlyArchive(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")}, func(s *string) {
		var keep []string
		for _, l := range strings.Split(*s, "\n") {
			if !strings.Contains(l, "main/source/") {
				keep = append(keep, l)
			}
		}
		*s = strings.Join(keep, "\n")
	})
	p := refreshed(t, f, "stable")
	idx, err := p.LoadIndex(Selection{})
	if err != nil || len(idx.Sources) != 0 || len(idx.Packages) != 1 {
		t.Fatalf("LoadIndex = %+v, %v; want only Packages", idx, err)
	}
	rows, err := p.Status(StatusOptions{Verify: true})
	if err != nil || rows[0].State != StateAbsent {
		t.Errorf("Status = %+v, %v; want the Sources row absent and no error", rows, err)
	}
	res, err := p.Refresh(context.Background(), nil, RefreshOptions{Now: func() time.Time { return time.Now().Add(7 * time.Hour) }})
	if err != nil || res[0].Status != StatusUnchanged {
		t.Errorf("second refresh = %+v, %v; want unchanged", res, err)
	}
	if _, err := p.FindSource("hello"); !errors.Is(err, ErrSourceNotFound) {
		t.Errorf("FindSource = %v; want not found", err)
	}
}

// TestRefreshDetachedRelease covers archives with Release and Release.gpg
// but no InRelease.
func TestRefreshDetachedRelease(t *testing.T) {
	f := newFakeArchive(t)
	f.detached = true
	f.publish("stable", []fakeSource{helloSource("1-1")})
	p := refreshed(t, f, "stable")
	m, err := p.Meta("fake", "stable")
	if err != nil || !m.Detached || !strings.HasSuffix(m.InReleaseURL, "/Release") {
		t.Fatalf("Meta = %+v, %v; want a detached Release", m, err)
	}
	if _, err := p.Status(StatusOptions{Verify: true}); err != nil {
		t.Errorf("Status: %v", err)
	}
	lists := t.TempDir()
	written, err := p.WriteAptLists(lists, Selection{NoSources: true})
	if err != nil || len(written) != 3 || !strings.HasSuffix(written[0], "_Release") || !strings.HasSuffix(written[1], "_Release.gpg") {
		t.Errorf("WriteAptLists = %v, %v; want Release, Release.gpg, Packages", written, err)
	}
	if ref, err := p.FindSource("hello"); err != nil || ref.Version != "1-1" {
		t.Errorf("FindSource = %v, %v", ref, err)
	}
	// A signature from another key is refused.
	f.now = f.now.Add(time.Minute)
	f.publish("stable", []fakeSource{helloSource("1-2")})
	other := newFakeArchive(t)
	sig, _ := other.key.DetachSign([]byte("x"))
	f.write("dists/stable/Release.gpg", sig)
	refreshFails(t, p, RefreshOptions{}, func(err error) bool { return errors.Is(err, sign.ErrBadSignature) })
}

// TestConcurrentRefreshAndReaders runs forced refreshes of two pantries on
// one workspace while readers load the index: the per-suite lock keeps the
// generations consistent and every reader sees a whole generation.
func TestConcurrentRefreshAndReaders(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	f.publish("testing", []fakeSource{helloSource("1-2")})
	p := refreshed(t, f, "stable", "testing")
	q, _ := OpenPantry(p.cfg, nil)
	ctx := context.Background()
	done := make(chan error, 4)
	for _, pp := range []*Pantry{p, q} {
		go func() {
			for i := 0; i < 5; i++ {
				if _, err := pp.Refresh(ctx, nil, RefreshOptions{Force: true}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for i := 0; i < 2; i++ {
		go func() {
			for j := 0; j < 20; j++ {
				idx, err := p.LoadIndex(Selection{})
				if err != nil {
					done <- err
					return
				}
				if len(idx.Sources) != 2 || len(idx.Sources[0].Paragraphs) != 1 {
					done <- errors.New("reader saw an incomplete index")
					return
				}
			}
			done <- nil
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Status(StatusOptions{Verify: true}); err != nil {
		t.Errorf("Status after concurrent refreshes: %v", err)
	}
}

// TestRefreshStalledTransfer abandons a download that stops sending.
func TestRefreshStalledTransfer(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	f.stallPrefix = "/dists/stable/main/source/"
	f.stalled = make(chan struct{}, 1)
	p := f.pantry("stable")
	c := NewClient(false)
	c.stall, c.retryWait = 200*time.Millisecond, time.Millisecond
	p.SetClient(c)
	start := time.Now()
	refreshFails(t, p, RefreshOptions{}, func(err error) bool {
		var fe *FetchError
		return errors.As(err, &fe) && errors.Is(err, errStalled) && strings.Contains(err.Error(), "no data for 200ms")
	})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stalled refresh took %v", d)
	}
}

// TestRefreshRetries retries server errors and gives up after the last.
func TestRefreshRetries(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	f.mu.Lock()
	f.failTimes = map[string]int{"/dists/stable/InRelease": 2}
	f.mu.Unlock()
	p := f.pantry("stable")
	c := NewClient(false)
	c.retryWait = time.Millisecond
	p.SetClient(c)
	if _, err := p.Refresh(context.Background(), nil, RefreshOptions{}); err != nil {
		t.Fatalf("Refresh after two 503s: %v", err)
	}
	f.mu.Lock()
	f.failTimes = map[string]int{"/dists/stable/InRelease": 3}
	f.mu.Unlock()
	refreshFails(t, p, RefreshOptions{}, func(err error) bool {
		var fe *FetchError
		return errors.As(err, &fe) && fe.Status == 503
	})
}
