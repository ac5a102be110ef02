// Command benchrepo drives packyard's repository engine for bench/repo/run.sh:
//
//	benchrepo init -workspace W          create the repository and its signing key
//	benchrepo add -workspace W DIR       add every .deb in DIR, one signed publish
//	benchrepo gen -workspace W -n N      generate N small .debs and add them (a large suite)
//	benchrepo addone -workspace W -name P add one generated package P to the suite
//
// Each prints one JSON line with the wall time of the repository call
// (seconds), and for addone also the process's peak RSS (MiB).
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"time"

	"github.com/packyard/packyard/internal/config"
	"github.com/packyard/packyard/internal/repo"
	"github.com/packyard/packyard/internal/sign"
)

const dist = "bookworm-packyard-unstable"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchrepo:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: benchrepo init|add|gen|addone ...")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	ws := fs.String("workspace", "", "workspace directory")
	n := fs.Int("n", 60000, "packages to generate (gen)")
	name := fs.String("name", "extra-package", "package to add (addone)")
	contents := fs.Bool("contents", true, "publish Contents-<arch> indexes")
	link := fs.Bool("link", false, "hard-link inputs into the pool (AddOptions.LinkInputs)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *ws == "" {
		return errors.New("-workspace is required")
	}
	r, err := open(*ws, !*contents)
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch args[0] {
	case "init":
		return report(map[string]any{"repository": r.Root()})
	case "add":
		if fs.NArg() != 1 {
			return errors.New("add: want one directory of .deb files")
		}
		debs, err := filepath.Glob(filepath.Join(fs.Arg(0), "*.deb"))
		if err != nil {
			return err
		}
		stop, err := startCPUProfile()
		if err != nil {
			return err
		}
		defer stop()
		start := time.Now()
		res, err := r.AddWith(ctx, dist, repo.AddOptions{LinkInputs: *link}, debs...)
		if err != nil {
			return err
		}
		if prof := os.Getenv("BENCHREPO_MEMPROFILE"); prof != "" {
			f, err := os.Create(prof)
			if err != nil {
				return err
			}
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
		return report(map[string]any{"seconds": time.Since(start).Seconds(), "packages": len(res.Added), "generation": res.Generation})
	case "gen":
		dir := filepath.Join(*ws, "gen")
		debs, err := generate(dir, *n)
		if err != nil {
			return err
		}
		start := time.Now()
		res, err := r.Add(ctx, dist, debs...)
		if err != nil {
			return err
		}
		return report(map[string]any{"seconds": time.Since(start).Seconds(), "packages": len(res.Added)})
	case "addone":
		dir := filepath.Join(*ws, "one")
		p, err := writeDeb(dir, *name, "1.0", 0)
		if err != nil {
			return err
		}
		stop, err := startCPUProfile()
		if err != nil {
			return err
		}
		defer stop()
		start := time.Now()
		res, err := r.Add(ctx, dist, p)
		if err != nil {
			return err
		}
		el := time.Since(start)
		// CPU time of the process and of the programs it ran (xz).
		var ru, rc syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		syscall.Getrusage(syscall.RUSAGE_CHILDREN, &rc)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano() + rc.Utime.Nano() + rc.Stime.Nano())
		return report(map[string]any{"seconds": el.Seconds(), "cpu_seconds": cpu.Seconds(), "generation": res.Generation, "maxrss_mib": float64(ru.Maxrss) / 1024})
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// startCPUProfile starts an execution trace into $BENCHREPO_TRACE or else a
// CPU profile into $BENCHREPO_CPUPROFILE when one is set; the returned func
// stops it.
func startCPUProfile() (func(), error) {
	if p := os.Getenv("BENCHREPO_TRACE"); p != "" {
		return startInto(p, trace.Start, trace.Stop)
	}
	if p := os.Getenv("BENCHREPO_CPUPROFILE"); p != "" {
		return startInto(p, pprof.StartCPUProfile, pprof.StopCPUProfile)
	}
	return func() {}, nil
}

// startInto creates path and starts a trace or profile into it.
func startInto(path string, start func(io.Writer) error, stop func()) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { stop(); f.Close() }, nil
}

func report(v map[string]any) error {
	return json.NewEncoder(os.Stdout).Encode(v)
}

// open opens (creating on first use) the repository of workspace ws with a
// signing key kept in ws/keys.
func open(ws string, skipContents bool) (*repo.Repo, error) {
	cfg := config.Default(ws, "bookworm", "amd64", nil)
	cfg.Repository.SkipContents = skipContents
	keyPath := cfg.SigningKeyPath()
	key, err := sign.LoadKey(keyPath)
	if err != nil {
		if key, err = sign.Generate("packyard bench", "bench@packyard.invalid"); err != nil {
			return nil, err
		}
		if err := key.SaveSecret(keyPath); err != nil {
			return nil, err
		}
		pub, err := key.PublicBinary()
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(cfg.WorkspaceDir().PublicKeyring(), pub, 0o644); err != nil {
			return nil, err
		}
	}
	var h slog.Handler = slog.NewTextHandler(io.Discard, nil)
	if os.Getenv("BENCHREPO_DEBUG") != "" {
		h = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return repo.Open(cfg, key, slog.New(h))
}

// generate writes n small, distinct .debs (with realistic control fields
// and a few files each) into dir.
func generate(dir string, n int) ([]string, error) {
	var out []string
	for i := 0; i < n; i++ {
		p, err := writeDeb(dir, fmt.Sprintf("gen-%s-%05d", word(i), i), "1.0-1", i)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func word(i int) string {
	words := []string{"lib", "python3", "golang", "node", "fonts", "texlive", "ruby", "perl", "gir1.2", "x11"}
	return words[i%len(words)]
}

func writeDeb(dir, name, version string, i int) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, name+"_"+version+"_amd64.deb")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	ctl := fmt.Sprintf(`Package: %s
Source: %s-src
Version: %s
Architecture: amd64
Maintainer: Bench Maintainers <bench@packyard.invalid>
Installed-Size: %d
Depends: libc6 (>= 2.34), gen-lib-%05d (>= 1.0)
Section: misc
Priority: optional
Homepage: https://bench.packyard.invalid/%s
Description: generated benchmark package %d
 This package exists to make a large suite for packyard's repository
 benchmark. It has a description of a few lines, like real packages.
`, name, name, version, 10+i%500, (i/10)*10, name, i)
	files := map[string]string{
		"usr/share/doc/" + name + "/copyright": "generated\n",
		"usr/bin/" + name:                      "#!/bin/sh\necho " + name + "\n",
	}
	var ctlTar, dataTar bytes.Buffer
	if err := tarGz(&ctlTar, map[string]string{"control": ctl}); err != nil {
		return "", err
	}
	if err := tarGz(&dataTar, files); err != nil {
		return "", err
	}
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	member := func(n string, body []byte) {
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", n, 0, 0, 0, "100644", len(body))
		b.Write(body)
		if len(body)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	member("debian-binary", []byte("2.0\n"))
	member("control.tar.gz", ctlTar.Bytes())
	member("data.tar.gz", dataTar.Bytes())
	return p, os.WriteFile(p, b.Bytes(), 0o644)
}

func tarGz(w io.Writer, files map[string]string) error {
	z := gzip.NewWriter(w)
	t := tar.NewWriter(z)
	for n, c := range files {
		if err := t.WriteHeader(&tar.Header{Name: "./" + n, Mode: 0o755, Size: int64(len(c)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := io.WriteString(t, c); err != nil {
			return err
		}
	}
	if err := t.Close(); err != nil {
		return err
	}
	return z.Close()
}
