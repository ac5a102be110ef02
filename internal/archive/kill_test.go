package archive

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packyard/packyard/internal/config"
)

// TestMain lets TestRefreshKilled re-run this binary as a refresh process.
func TestMain(m *testing.M) {
	if ws := os.Getenv("PACKYARD_TEST_REFRESH_CHILD"); ws != "" {
		cfg := config.Default(ws, "bookworm", "amd64", []config.Archive{{
			Name: "fake", URI: os.Getenv("PACKYARD_TEST_URI"), Suites: []string{"stable"}, SignedBy: os.Getenv("PACKYARD_TEST_KEYRING"),
		}})
		p, _ := OpenPantry(cfg, slog.New(slog.DiscardHandler))
		_, err := p.Refresh(context.Background(), nil, RefreshOptions{Force: true})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRefreshKilled kills (SIGKILL) a refresh in the middle of an index
// download and checks the previous pantry generation is intact and usable,
// and that the next refresh succeeds and cleans up.
func TestRefreshKilled(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	p := refreshed(t, f, "stable")
	before, _ := os.Readlink(p.SuiteDir("fake", "stable"))

	f.now = f.now.Add(time.Minute)
	f.publish("stable", []fakeSource{helloSource("1-2")})
	f.mu.Lock()
	f.stallPrefix = "/dists/stable/main/source/"
	f.stalled = make(chan struct{}, 1)
	f.mu.Unlock()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PACKYARD_TEST_REFRESH_CHILD="+p.cfg.Workspace,
		"PACKYARD_TEST_URI="+f.srv.URL, "PACKYARD_TEST_KEYRING="+f.keyring)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.stalled:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child refresh never reached the index download")
	}
	cmd.Process.Kill()
	cmd.Wait()

	after, _ := os.Readlink(p.SuiteDir("fake", "stable"))
	if after != before {
		t.Fatalf("killed refresh moved the suite from %s to %s", before, after)
	}
	if _, err := p.Status(StatusOptions{Verify: true}); err != nil {
		t.Fatalf("pantry after a killed refresh: %v", err)
	}
	ref, err := p.FindSource("hello")
	if err != nil || ref.Version != "1-1" {
		t.Fatalf("FindSource after a killed refresh = %v, %v; want the old 1-1", ref, err)
	}

	f.mu.Lock()
	f.stallPrefix = ""
	f.mu.Unlock()
	if _, err := p.Refresh(context.Background(), nil, RefreshOptions{Force: true}); err != nil {
		t.Fatalf("refresh after a killed one: %v", err)
	}
	if ref, _ := p.FindSource("hello"); ref == nil || ref.Version != "1-2" {
		t.Errorf("FindSource after the next refresh = %+v; want 1-2", ref)
	}
	gens := dirNames(t, p.Dir()+"/fake/.gen")
	if len(gens) > 2 {
		t.Errorf("stale generations left: %v", gens)
	}
	for _, g := range gens {
		if strings.Contains(g, ".download") {
			t.Errorf("partial download left: %s", g)
		}
	}
}

// TestProxyFromEnvironment runs a refresh in a child process with
// http_proxy set and checks every request went through the proxy.
func TestProxyFromEnvironment(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.String())
		mu.Unlock()
		// Serve the absolute URL from the fake archive, as a proxy would.
		resp, err := http.Get(f.srv.URL + strings.TrimPrefix(r.URL.Path, "/debian"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PACKYARD_TEST_REFRESH_CHILD="+t.TempDir(),
		"PACKYARD_TEST_URI=http://archive.invalid/debian", "PACKYARD_TEST_KEYRING="+f.keyring,
		"http_proxy="+proxy.URL, "HTTP_PROXY="+proxy.URL, "no_proxy=", "NO_PROXY=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("refresh through the proxy: %v\n%s", err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || !strings.HasPrefix(seen[0], "http://archive.invalid/debian/dists/stable/InRelease") {
		t.Errorf("proxy saw %v; want InRelease and two indexes for archive.invalid", seen)
	}
}
