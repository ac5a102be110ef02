package env

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLayerHash(t *testing.T) {
	a := LayerHash(map[string]string{"cmake": "3.25.1-1", "texinfo": "6.8-6+b1"})
	b := LayerHash(map[string]string{"texinfo": "6.8-6+b1", "cmake": "3.25.1-1"})
	if a != b {
		t.Errorf("LayerHash depends on map order: %s vs %s", a, b)
	}
	if c := LayerHash(map[string]string{"cmake": "3.25.1-2", "texinfo": "6.8-6+b1"}); c == a {
		t.Error("LayerHash ignores versions")
	}
}

func fakeLayer(t *testing.T, e *Env, pkgs map[string]string, size int64, used time.Time) string {
	t.Helper()
	hash := LayerHash(pkgs)
	dir := filepath.Join(e.LayersDir(), hash)
	if err := os.MkdirAll(filepath.Join(dir, "root"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(LayerManifest{Hash: hash, Packages: pkgs, Size: size})
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "used"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(dir, "used"), used, used); err != nil {
		t.Fatal(err)
	}
	return hash
}

func TestCollectLayers(t *testing.T) {
	now := time.Now()
	e := &Env{Dir: t.TempDir()}
	old := fakeLayer(t, e, map[string]string{"a": "1"}, 100, now.Add(-72*time.Hour))
	mid := fakeLayer(t, e, map[string]string{"b": "1"}, 100, now.Add(-2*time.Hour))
	fresh := fakeLayer(t, e, map[string]string{"c": "1"}, 100, now.Add(-time.Minute))
	if err := e.SetLayerIndex("k", fresh); err != nil {
		t.Fatal(err)
	}
	removed, err := CollectLayers(e, LayerPolicy{MaxAge: 24 * time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != old {
		t.Errorf("CollectLayers(max age 24h) removed %v; want [%s]", removed, old)
	}
	// Held by a session: kept even when over the size limit.
	held, err := lockShared(filepath.Join(e.LayersDir(), mid+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	removed, err = CollectLayers(e, LayerPolicy{MaxBytes: 50}, now)
	held.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != fresh {
		t.Errorf("CollectLayers(max 50 bytes, %s held) removed %v; want [%s]", mid[:8], removed, fresh)
	}
	if h, ok := e.LayerIndex("k"); !ok || h != fresh {
		t.Errorf("LayerIndex(k) = %q, %v; want %s", h, ok, fresh)
	}
	if _, err := e.Layer(fresh); err == nil {
		t.Error("Layer(removed) = nil error; want not found")
	}
}

func TestLayerRejectsForgedManifest(t *testing.T) {
	e := &Env{Dir: t.TempDir()}
	hash := fakeLayer(t, e, map[string]string{"a": "1"}, 1, time.Now())
	data, _ := json.Marshal(LayerManifest{Hash: hash, Packages: map[string]string{"a": "2"}})
	if err := os.WriteFile(filepath.Join(e.LayersDir(), hash, "manifest.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Layer(hash); err == nil {
		t.Error("Layer with a manifest not matching its hash = nil error; want error")
	}
}

func TestDebCacheIngest(t *testing.T) {
	c := NewDebCache(t.TempDir())
	names, err := c.NamesDir()
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"a_1_all.deb": "same", "b_1_all.deb": "same", "c_1_amd64.deb": "other"} {
		if err := os.WriteFile(filepath.Join(names, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n, _, err := c.Ingest()
	if err != nil || n != 3 {
		t.Fatalf("Ingest = %d, %v; want 3, nil", n, err)
	}
	blobs, _ := filepath.Glob(filepath.Join(c.Dir, "sha256", "*.deb"))
	if len(blobs) != 2 {
		t.Errorf("blobs = %v; want 2 (identical contents stored once)", blobs)
	}
	if n, _, _ := c.Ingest(); n != 0 {
		t.Errorf("second Ingest took %d files; want 0", n)
	}
	if err := os.WriteFile(blobs[0], []byte("corrupted"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad, err := c.Verify()
	if err != nil || len(bad) != 1 {
		t.Errorf("Verify = %v, %v; want one corrupt blob removed", bad, err)
	}
}

func TestDebCachePopulateIngestFrom(t *testing.T) {
	c := NewDebCache(t.TempDir())
	sess := filepath.Join(t.TempDir(), "archives")
	if err := c.Populate(sess); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sess, "new_1_all.deb"), []byte("downloaded"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, _, err := c.IngestFrom(sess)
	if err != nil || n != 1 {
		t.Fatalf("IngestFrom = %d, %v; want 1", n, err)
	}
	blobs, _ := filepath.Glob(filepath.Join(c.Dir, "sha256", "*.deb"))
	if len(blobs) != 1 {
		t.Fatalf("blobs = %v; want 1", blobs)
	}
	other := filepath.Join(t.TempDir(), "archives")
	if err := c.Populate(other); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(other, "new_1_all.deb"))
	if err != nil || string(data) != "downloaded" {
		t.Errorf("a second session does not see the cached .deb: %q, %v", data, err)
	}
	if n, _, _ := c.IngestFrom(other); n != 0 {
		t.Errorf("IngestFrom of a populated-only session took %d files; want 0", n)
	}
}

func TestLayerIndexRecord(t *testing.T) {
	e := &Env{Dir: t.TempDir()}
	if _, _, ok := e.LayerIndexRecord("missing"); ok {
		t.Error("LayerIndexRecord(missing) ok; want not found")
	}
	if err := e.SetLayerIndex("plain", "aaa"); err != nil {
		t.Fatal(err)
	}
	if err := e.SetLayerIndexRecord("extra", "bbb", "d1"); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string][2]string{"plain": {"aaa", ""}, "extra": {"bbb", "d1"}} {
		hash, extra, ok := e.LayerIndexRecord(key)
		if !ok || hash != want[0] || extra != want[1] {
			t.Errorf("LayerIndexRecord(%s) = %q, %q, %t; want %q, %q, true", key, hash, extra, ok, want[0], want[1])
		}
		if h, ok := e.LayerIndex(key); !ok || h != want[0] {
			t.Errorf("LayerIndex(%s) = %q, %t; want %q", key, h, ok, want[0])
		}
	}
}
