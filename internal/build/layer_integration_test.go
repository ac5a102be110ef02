//go:build integration

package build_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/packyard/packyard/internal/build"
)

func TestRebuildReusesLayer(t *testing.T) {
	res := buildDSC(t, "hello", build.Request{})
	log, _ := os.ReadFile(res.LogPath)
	if !bytes.Contains(log, []byte("reused")) {
		// First build of hello in this workspace: it made the layer.
		res = buildDSC(t, "hello", build.Request{})
		log, _ = os.ReadFile(res.LogPath)
	}
	if !bytes.Contains(log, []byte("build-dependency layer")) || !bytes.Contains(log, []byte("nothing to install")) {
		t.Errorf("rebuild log %s does not report a reused layer", res.LogPath)
	}
	for _, installing := range []string{"Unpacking ", "Setting up ", "apt-get build-dep"} {
		if bytes.Contains(log, []byte(installing)) {
			t.Errorf("rebuild log %s shows %q: something was installed", res.LogPath, installing)
		}
	}
	// The phases are timed and logged; a warm rebuild resolves nothing, so
	// its build-deps phase is a lookup, not an apt run.
	var names []string
	for _, p := range res.Phases {
		names = append(names, p.Name)
	}
	want := "session stage extract build-deps build collect close"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("rebuild phases = %q; want %q", got, want)
	}
	if d := build.PhaseSeconds(res.Phases, "build-deps"); d > 1 {
		t.Errorf("rebuild build-deps phase took %.2f s; want a layer lookup well under 1 s", d)
	}
	if !bytes.Contains(log, []byte("packyard: phases: session ")) {
		t.Errorf("rebuild log %s does not list the phases", res.LogPath)
	}
	t.Logf("rebuild phases: %s", build.FormatPhases(res.Phases))
}
