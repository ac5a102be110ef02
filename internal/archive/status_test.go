package archive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatus(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	p := f.pantry("stable", "testing")
	rows, err := p.Status(StatusOptions{Verify: true})
	if !errors.Is(err, ErrPantryMissing) || errors.Is(err, ErrPantryCorrupt) || len(rows) != 4 {
		t.Fatalf("Status before refresh = %d rows, %v; want 4 rows and ErrPantryMissing only", len(rows), err)
	}
	f.publish("testing", []fakeSource{helloSource("1-2")})
	refreshedPantry(t, p)
	rows, err = p.Status(StatusOptions{Verify: true})
	if err != nil {
		t.Fatalf("Status after refresh: %v", err)
	}
	for _, r := range rows {
		if r.State != StateOK || r.Stanzas != 1 || r.Size == 0 || r.Fetched.IsZero() {
			t.Errorf("row %+v; want ok with 1 stanza", r)
		}
	}
	var b strings.Builder
	if err := WriteStatusTable(&b, rows); err != nil || !strings.Contains(b.String(), "fake     stable") {
		t.Errorf("WriteStatusTable = %q, %v", b.String(), err)
	}

	// Same size, other bytes: only Verify sees it.
	path := filepath.Join(p.SuiteDir("fake", "stable"), "main/source/Sources")
	data, _ := os.ReadFile(path)
	data[0] = 'p'
	os.WriteFile(path, data, 0o644)
	if _, err := p.Status(StatusOptions{}); err != nil {
		t.Errorf("Status without Verify = %v; want nil", err)
	}
	_, err = p.Status(StatusOptions{Verify: true})
	var se *StatusError
	if !errors.As(err, &se) || len(se.Corrupt) != 1 || se.Corrupt[0].Architecture != "source" || !errors.Is(err, ErrPantryCorrupt) {
		t.Fatalf("Status = %v; want one corrupt Sources", err)
	}

	// A deleted index is missing.
	os.Remove(filepath.Join(p.SuiteDir("fake", "testing"), "main/binary-amd64/Packages"))
	_, err = p.Status(StatusOptions{Verify: true})
	if !errors.As(err, &se) || len(se.Missing) != 1 || !errors.Is(err, ErrPantryMissing) || !strings.Contains(err.Error(), "packyard refresh") {
		t.Fatalf("Status = %v; want one missing Packages", err)
	}

	// A tampered stored InRelease makes the whole suite corrupt.
	ir := filepath.Join(p.SuiteDir("fake", "testing"), "InRelease")
	data, _ = os.ReadFile(ir)
	os.WriteFile(ir, []byte(strings.Replace(string(data), "Label: Fake", "Label: Fakf", 1)), 0o644)
	_, err = p.Status(StatusOptions{Verify: true})
	if !errors.As(err, &se) || len(se.Corrupt) != 2 {
		t.Fatalf("Status = %v; want Sources of stable and testing corrupt", err)
	}
}

// TestForcedRefreshRepairs: --force re-hashes stored indexes and downloads
// a corrupt one again.
func TestForcedRefreshRepairs(t *testing.T) {
	f := newFakeArchive(t)
	f.publish("stable", []fakeSource{helloSource("1-1")})
	p := refreshed(t, f, "stable")
	path := filepath.Join(p.SuiteDir("fake", "stable"), "main/binary-amd64/Packages")
	data, _ := os.ReadFile(path)
	data[0] = 'p'
	os.WriteFile(path, data, 0o644)
	if rows, _ := p.Status(StatusOptions{Verify: true}); !strings.HasPrefix(rows[1].Path, p.SuiteDir("fake", "stable")) {
		t.Errorf("Status path %s not under the suite directory", rows[1].Path)
	}
	res, err := p.Refresh(context.Background(), nil, RefreshOptions{Force: true})
	if err != nil || res[0].Status != StatusUpdated || len(res[0].Fetched) != 1 {
		t.Fatalf("forced refresh = %+v, %v; want Packages fetched again", res, err)
	}
	if _, err := p.Status(StatusOptions{Verify: true}); err != nil {
		t.Errorf("Status after repair: %v", err)
	}
}
