package repo

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packyard/packyard/internal/run"
	"github.com/ulikunitz/xz"
)

// TestXZAssembly checks that blocks cut from single-block streams and
// assembled into one stream decode, with valid checks, in Go and in xz(1)
// (liblzma, which apt uses).
func TestXZAssembly(t *testing.T) {
	chunks := []string{
		strings.Repeat("Package: a\nVersion: 1\n\n", 3),
		"Package: b\nVersion: 2\n\n",
		strings.Repeat("Package: c\nDescription: odd length text\n\n", 17),
	}
	var out bytes.Buffer
	var want strings.Builder
	var check byte
	var blocks [][]byte
	for _, c := range chunks {
		xzb, err := xzCompress([]byte(c))
		if err != nil {
			t.Fatal(err)
		}
		b, ck, err := xzBlock(xzb)
		if err != nil {
			t.Fatalf("xzBlock: %v", err)
		}
		check = ck
		blocks = append(blocks, b)
		want.WriteString(c)
	}
	a, err := newXZAssembler(&out, check)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range blocks {
		if err := a.block(b, int64(len(chunks[i]))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
	r, err := xz.NewReader(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding assembled stream: %v", err)
	}
	if string(got) != want.String() {
		t.Errorf("assembled stream decodes to %q; want %q", got, want.String())
	}
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz not installed")
	}
	p := filepath.Join(t.TempDir(), "Packages.xz")
	os.WriteFile(p, out.Bytes(), 0o644)
	if msg, err := exec.Command("xz", "-t", p).CombinedOutput(); err != nil {
		t.Errorf("xz -t on the assembled stream: %v\n%s", err, msg)
	}
}

// TestXZBlocksOf compresses texts in one run of xz(1), one block per text,
// and checks that the blocks mixed with blocks made in Go assemble into a
// stream xz(1) and Go both decode to the texts; and that it declines what
// --block-list cannot express.
func TestXZBlocksOf(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz not installed")
	}
	s := chunkStore{dir: t.TempDir(), runner: run.New(nil)}
	texts := [][]byte{
		[]byte(strings.Repeat("Package: a\nVersion: 1\n\n", 3000)),
		[]byte("Package: b\nVersion: 2\n\n"),
		[]byte(strings.Repeat("Package: c\nDescription: odd length text\n\n", 17)),
	}
	blocks := s.xzBlocksOf(texts)
	if len(blocks) != len(texts) {
		t.Fatalf("xzBlocksOf made %d blocks of %d texts", len(blocks), len(texts))
	}
	goBlock, err := xzBlockOf(texts[1])
	must(t, err)
	var out bytes.Buffer
	a, err := newXZAssembler(&out, xzCheck)
	must(t, err)
	var want []byte
	for i, b := range [][]byte{blocks[0], goBlock, blocks[1], blocks[2]} {
		text := texts[[]int{0, 1, 1, 2}[i]]
		must(t, a.block(b, int64(len(text))))
		want = append(want, text...)
	}
	must(t, a.close())
	z, release, err := openXZ(bytes.NewReader(out.Bytes()))
	must(t, err)
	got, err := io.ReadAll(z)
	release()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("assembled stream: %v, or %d bytes differing from the %d expected", err, len(got), len(want))
	}
	p := filepath.Join(t.TempDir(), "Packages.xz")
	must(t, os.WriteFile(p, out.Bytes(), 0o644))
	if msg, err := exec.Command("xz", "-t", p).CombinedOutput(); err != nil {
		t.Errorf("xz -t on the assembled stream: %v\n%s", err, msg)
	}
	if got := s.xzBlocksOf([][]byte{[]byte("a"), nil}); got != nil {
		t.Errorf("xzBlocksOf with an empty text made %d blocks; want nil", len(got))
	}
	if got := (chunkStore{dir: s.dir}).xzBlocksOf(texts); got != nil {
		t.Errorf("xzBlocksOf without a runner made %d blocks; want nil", len(got))
	}
}

// TestPublishXZWithAndWithoutXZProgram publishes the same packages, cut
// into many chunks, with xz(1) compressing the chunks and with Go doing it
// (no runner): both repositories pass Check, and their Packages.xz decode
// to the same text as their Packages.gz.
func TestPublishXZWithAndWithoutXZProgram(t *testing.T) {
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz not installed")
	}
	in := t.TempDir()
	var debs []string
	for i := 0; i < 40; i++ {
		debs = append(debs, writeTestDeb(t, in, fmt.Sprintf("p%03d", i), "1.0", "amd64", ""))
	}
	var texts []string
	for _, withProgram := range []bool{true, false} {
		r, _ := newTestRepo(t)
		r.chunkTarget = 400
		if !withProgram {
			r.chunks.runner = nil
		}
		_, err := r.Add(context.Background(), testDist, debs...)
		must(t, err)
		if rep, err := r.Check(context.Background()); err != nil {
			t.Fatalf("check (xz program: %v): %v %+v", withProgram, err, rep.Problems)
		}
		z, release, err := openXZ(strings.NewReader(readPublished(t, r, "main/binary-amd64/Packages.xz")))
		must(t, err)
		fromXZ, err := io.ReadAll(z)
		release()
		must(t, err)
		g, err := gzip.NewReader(strings.NewReader(readPublished(t, r, "main/binary-amd64/Packages.gz")))
		must(t, err)
		fromGZ, err := io.ReadAll(g)
		must(t, err)
		if !bytes.Equal(fromXZ, fromGZ) || !bytes.Contains(fromXZ, []byte("Package: p039\n")) {
			t.Fatalf("xz program %v: Packages.xz and Packages.gz differ, or miss p039", withProgram)
		}
		texts = append(texts, string(fromXZ))
	}
	if texts[0] != texts[1] {
		t.Errorf("Packages differ between xz(1) and Go compression")
	}
}

// TestXZBlocksOfBadProgram: an xz(1) whose output is not one block per
// text (here: not xz at all, and a failing one) is not trusted; the caller
// then compresses in Go, and a publish through it still passes Check.
func TestXZBlocksOfBadProgram(t *testing.T) {
	for _, script := range []string{"cat >/dev/null; echo not-xz", "cat >/dev/null; exit 3"} {
		dir := t.TempDir()
		must(t, os.WriteFile(filepath.Join(dir, "xz"), []byte("#!/bin/sh\n"+script+"\n"), 0o755))
		t.Setenv("PATH", dir+":/usr/bin:/bin")
		s := chunkStore{dir: t.TempDir(), runner: run.New(nil)}
		if got := s.xzBlocksOf([][]byte{[]byte("Package: a\n\n")}); got != nil {
			t.Errorf("%q: xzBlocksOf trusted %d blocks; want nil", script, len(got))
		}
		r, _ := newTestRepo(t)
		in := t.TempDir()
		_, err := r.Add(context.Background(), testDist, writeTestDeb(t, in, "a", "1.0", "amd64", ""))
		must(t, err)
		if rep, err := r.Check(context.Background()); err != nil {
			t.Fatalf("%q: check: %v %+v", script, err, rep.Problems)
		}
		z, release, err := openXZ(strings.NewReader(readPublished(t, r, "main/binary-amd64/Packages.xz")))
		must(t, err)
		text, err := io.ReadAll(z)
		release()
		if err != nil || !strings.Contains(string(text), "Package: a\n") {
			t.Errorf("%q: Packages.xz: %v, or without package a: %q", script, err, text)
		}
	}
}

// TestXZBatchFilter: the dictionary covers the largest block (a power of
// two from 64 KiB) and never exceeds preset 1's 1 MiB.
func TestXZBatchFilter(t *testing.T) {
	for largest, want := range map[int]string{
		1:       "--lzma2=preset=1,dict=65536",
		65536:   "--lzma2=preset=1,dict=65536",
		65537:   "--lzma2=preset=1,dict=131072",
		200000:  "--lzma2=preset=1,dict=262144",
		1 << 20: "--lzma2=preset=1,dict=1048576",
		5 << 20: "--lzma2=preset=1,dict=1048576",
	} {
		if got := xzBatchFilter(largest); got != want {
			t.Errorf("xzBatchFilter(%d) = %s; want %s", largest, got, want)
		}
	}
}
