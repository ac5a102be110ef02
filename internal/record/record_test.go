package record

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRecord(t *testing.T) {
	runs := t.TempDir()
	r, err := Start(runs, "build", []string{"hello"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(filepath.Base(r.Dir), "-build-"+r.ID()) {
		t.Errorf("run dir %q; want it to contain -build-%s", r.Dir, r.ID())
	}
	r.Event("fetch.source", map[string]any{"source": "hello"})
	if err := r.WriteArtifacts(Artifacts{Builder: "dpkg", ExitCode: 0, Files: []Artifact{{Name: "a.deb", Size: 3}}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Finish(7, errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	var s Summary
	data, err := os.ReadFile(filepath.Join(r.Dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if s.ExitCode != 7 || s.Status != StatusFailed || s.Error != "boom" || s.Command != "build" {
		t.Errorf("summary = %+v; want exit 7, failed, error boom, command build", s)
	}
	f, err := os.Open(filepath.Join(r.Dir, "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var types []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("bad event line %q: %v", sc.Text(), err)
		}
		types = append(types, ev.Type)
	}
	want := "run.start,fetch.source,run.end"
	if got := strings.Join(types, ","); got != want {
		t.Errorf("event types = %s; want %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, "logs")); err != nil {
		t.Errorf("logs dir missing: %v", err)
	}
}
