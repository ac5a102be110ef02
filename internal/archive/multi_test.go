package archive

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/packyard/packyard/internal/config"
)

// TestSeveralArchives refreshes two archives with their own keyrings and
// finds the newest source across them.
func TestSeveralArchives(t *testing.T) {
	stable := newFakeArchive(t)
	stable.publish("bookworm", []fakeSource{helloSource("2.10-3")})
	newer := newFakeArchive(t)
	newer.publish("trixie", []fakeSource{helloSource("2.10-5")})
	cfg := config.Default(t.TempDir(), "bookworm", "amd64", []config.Archive{
		{Name: "debian", URI: stable.srv.URL, Suites: []string{"bookworm"}, SignedBy: stable.keyring},
		{Name: "trixie", URI: newer.srv.URL, Suites: []string{"trixie"}, SignedBy: newer.keyring},
	})
	p, err := OpenPantry(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Refresh(context.Background(), nil, RefreshOptions{})
	if err != nil || len(res) != 2 {
		t.Fatalf("Refresh = %+v, %v", res, err)
	}
	ref, err := p.FindSource("hello")
	if err != nil || ref.Archive != "trixie" || ref.Version != "2.10-5" {
		t.Fatalf("FindSource = %+v, %v; want 2.10-5 from trixie", ref, err)
	}
	all, _ := p.FindSourceAll("hello")
	if len(all) != 2 {
		t.Errorf("FindSourceAll = %d refs; want 2", len(all))
	}

	// Swapped keyrings: each archive's InRelease fails against the other key.
	cfg.Archives[0].SignedBy, cfg.Archives[1].SignedBy = newer.keyring, stable.keyring
	_, err = p.Refresh(context.Background(), nil, RefreshOptions{Force: true})
	if err == nil || strings.Count(err.Error(), "bad signature") != 2 {
		t.Errorf("Refresh with swapped keyrings = %v; want two signature failures", err)
	}
}

// TestArchitectureNotInRelease names the missing index and the fix.
func TestArchitectureNotInRelease(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	p := f.pantry("stable")
	p.cfg.Archives[0].Architectures = []string{"amd64", "i386"}
	_, err := p.Refresh(context.Background(), nil, RefreshOptions{})
	if err == nil || !strings.Contains(err.Error(), "main/binary-i386/Packages") || !strings.Contains(err.Error(), "architectures") {
		t.Fatalf("Refresh with i386 = %v; want an error naming binary-i386 and the config fix", err)
	}
}

// TestFileArchive refreshes from a file: URI (a local mirror), which works
// in offline mode too since it makes no network connection.
func TestFileArchive(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	cfg := config.Default(t.TempDir(), "bookworm", "amd64", []config.Archive{
		{Name: "local", URI: "file://" + f.root, Suites: []string{"stable"}, SignedBy: f.keyring},
	})
	cfg.Offline = true
	p, err := OpenPantry(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p.SetClient(NewClient(false)) // a file: archive refreshes like any other
	if _, err := p.Refresh(context.Background(), nil, RefreshOptions{}); err != nil {
		t.Fatalf("Refresh from file: %v", err)
	}
	ref, err := p.FindSource("hello")
	if err != nil {
		t.Fatal(err)
	}
	p.SetClient(NewClient(true))
	if _, err := p.FetchSource(context.Background(), ref, t.TempDir()); err != nil {
		t.Errorf("offline FetchSource from a file: archive = %v", err)
	}
	c := NewClient(true)
	resp, err := c.get(context.Background(), "file://"+f.root+"/dists/stable/InRelease", 1<<20, "", "")
	if err != nil || len(resp.Body) == 0 {
		t.Errorf("offline client get of a file: URL = %v", err)
	}
	if _, err := c.get(context.Background(), "file://"+f.root+"/nope", 1<<20, "", ""); err == nil {
		t.Errorf("get of a missing file: URL succeeded")
	}
}
