//go:build integration

package repo

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/ulikunitz/xz"
)

// TestControlXZRealDebs reads the control stanza of every benchmark .deb
// (when bench/repo/run.sh has downloaded them) with controlFromTar, which
// decodes control.tar.xz only as far as ./control, and compares it with
// the whole member decoded by another library (ulikunitz/xz).
func TestControlXZRealDebs(t *testing.T) {
	debs, _ := filepath.Glob("/var/tmp/packyard-bench/debs/*.deb")
	if len(debs) == 0 {
		t.Skip("no benchmark .debs in /var/tmp/packyard-bench/debs")
	}
	n, read, total := 0, 0, 0
	for _, p := range debs {
		member := controlMember(t, p)
		if member == nil {
			continue
		}
		n++
		zr, err := xz.NewReader(bytes.NewReader(member))
		must(t, err)
		want, err := controlFromTarReader("control.tar.xz", zr)
		must(t, err)
		in := bytes.NewReader(member)
		got, err := controlFromTar("control.tar.xz", in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: controlFromTar: %v, or a stanza differing from the full decode", filepath.Base(p), err)
		}
		read += len(member) - in.Len()
		total += len(member)
	}
	t.Logf("%d control.tar.xz members agree; %d of their %d compressed bytes read", n, read, total)
	if n == 0 {
		t.Fatal("no control.tar.xz members")
	}
}

// BenchmarkControlXZRealDebs reads the control stanza of every benchmark
// .deb's control.tar.xz, as repo.Add does.
func BenchmarkControlXZRealDebs(b *testing.B) {
	debs, _ := filepath.Glob("/var/tmp/packyard-bench/debs/*.deb")
	if len(debs) == 0 {
		b.Skip("no benchmark .debs in /var/tmp/packyard-bench/debs")
	}
	var members [][]byte
	for _, p := range debs {
		if m := controlMember(b, p); m != nil {
			members = append(members, m)
		}
	}
	b.ResetTimer()
	start := cpuTime(b)
	for range b.N {
		for _, m := range members {
			if _, err := controlFromTar("control.tar.xz", bytes.NewReader(m)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the CPU time (user and system) of the process: wall time
// says little on a shared machine.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// controlMember returns a .deb's control.tar.xz member, or nil for another
// compression (dpkg-deb puts it second, after debian-binary).
func controlMember(t testing.TB, p string) []byte {
	data, err := os.ReadFile(p)
	must(t, err)
	const at = 8 + 60 + 4 // ar magic, debian-binary header and body
	if len(data) < at+60 || string(bytes.TrimRight(data[at:at+16], " /")) != "control.tar.xz" {
		return nil
	}
	var size int
	for _, c := range bytes.TrimSpace(data[at+48 : at+58]) {
		size = size*10 + int(c-'0')
	}
	if at+60+size > len(data) {
		t.Fatalf("%s: truncated control member", p)
	}
	return data[at+60 : at+60+size]
}
