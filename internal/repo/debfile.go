package repo

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/packyard/packyard/internal/run"
)

// readDebControl returns the control stanza of a .deb or .udeb, read from the
// control.tar member of its ar archive (deb(5)). When files is non-nil, the
// paths in data.tar are appended to it (for Contents indexes).
//
// Data members compressed with xz are listed through the xz program (run
// through rn) when rn is non-nil: liblzma decompresses several times faster
// than the pure Go decoder, and Contents need every data.tar read whole.
func readDebControl(ctx context.Context, rn *run.Runner, p string, files *[]string) (stanza, error) {
	f, err := openFile(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return debControl(ctx, rn, bufio.NewReader(f), f, files)
}

// readDebControlHead is readDebControl for a package whose first bytes
// are in head: the control stanza is read from them when the control
// member lies within, else from the file at p.
func readDebControlHead(ctx context.Context, rn *run.Runner, p string, head []byte, files *[]string) (stanza, error) {
	if files == nil && len(head) > 0 {
		if st, err := debControl(ctx, rn, bufio.NewReaderSize(bytes.NewReader(head), 16), nil, nil); err == nil {
			return st, nil
		}
	}
	return readDebControl(ctx, rn, p, files)
}

// debControl reads the ar archive from r. When src is the file r reads
// (from its start), a data member compressed with xz is listed by an xz(1)
// that reads it from src itself (listTarXZAt).
func debControl(ctx context.Context, rn *run.Runner, r *bufio.Reader, src *os.File, files *[]string) (stanza, error) {
	magic := make([]byte, 8)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "!<arch>\n" {
		return nil, errors.New("not a Debian binary package (no ar magic)")
	}
	var control stanza
	at := int64(len(magic)) // offset in the file of what r reads next
	for {
		hdr := make([]byte, 60)
		if _, err := io.ReadFull(r, hdr); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("reading ar header: %w", err)
		}
		name := strings.TrimRight(strings.TrimSpace(string(hdr[0:16])), "/")
		size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("ar member %q: bad size", name)
		}
		start := at + int64(len(hdr))
		at = start + size + size%2
		body := &io.LimitedReader{R: r, N: size}
		switch {
		case strings.HasPrefix(name, "control.tar"):
			control, err = controlFromTar(name, body)
			if err != nil {
				return nil, err
			}
			if files == nil {
				return control, nil
			}
		case strings.HasPrefix(name, "data.tar") && files != nil:
			skipped, err := listData(ctx, rn, r, src, name, body, start, files)
			if err != nil {
				return nil, err
			}
			if skipped {
				continue
			}
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return nil, fmt.Errorf("reading ar member %q: %w", name, err)
		}
		if size%2 == 1 {
			if _, err := r.ReadByte(); err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
		}
	}
	if control == nil {
		return nil, errors.New("no control.tar member")
	}
	return control, nil
}

// listData appends the paths of the data member name to files. Its
// size bytes start at offset start of the package file, and body reads
// them from r. skipped reports that the member was listed from src
// (listTarXZAt) and r moved past it and its padding.
func listData(ctx context.Context, rn *run.Runner, r *bufio.Reader, src *os.File, name string, body *io.LimitedReader, start int64, files *[]string) (skipped bool, err error) {
	size := body.N
	if name == "data.tar.xz" && src != nil && rn != nil {
		listed, err := listTarXZAt(ctx, rn, src, start, size, files)
		if err != nil {
			return false, err
		}
		if listed {
			if _, err := src.Seek(start+size+size%2, io.SeekStart); err != nil {
				return false, err
			}
			r.Reset(src)
			return true, nil
		}
	}
	return false, listTar(ctx, rn, name, body, files)
}

// decompressor opens the tar stream of an ar member named control.tar.xz etc.
func decompressor(name string, r io.Reader) (io.Reader, func(), error) {
	switch path.Ext(name) {
	case ".tar":
		return r, func() {}, nil
	case ".gz":
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return z, func() { z.Close() }, nil
	case ".xz":
		return openXZ(r)
	case ".zst":
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, err
		}
		return z, z.Close, nil
	}
	return nil, nil, fmt.Errorf("unsupported member compression %q", name)
}

func controlFromTar(name string, r io.Reader) (stanza, error) {
	tr, done, err := decompressor(name, r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer done()
	return controlFromTarReader(name, tr)
}

// controlFromTarReader finds ./control in a tar stream.
func controlFromTarReader(name string, tr io.Reader) (stanza, error) {
	t := tar.NewReader(tr)
	for {
		h, err := t.Next()
		if err != nil {
			return nil, fmt.Errorf("%s: no control file: %w", name, err)
		}
		if path.Clean(strings.TrimPrefix(h.Name, "./")) != "control" {
			continue
		}
		if h.Size > 1<<20 {
			return nil, fmt.Errorf("%s: control file of %d bytes; at most 1 MiB is accepted", name, h.Size)
		}
		data := make([]byte, h.Size)
		if _, err := io.ReadFull(t, data); err != nil {
			return nil, fmt.Errorf("%s: reading control: %w", name, err)
		}
		st, err := parseStanzas(data)
		if err != nil {
			return nil, fmt.Errorf("control: %w", err)
		}
		if len(st) != 1 {
			return nil, fmt.Errorf("control: want one paragraph, got %d", len(st))
		}
		return st[0], nil
	}
}

func listTar(ctx context.Context, rn *run.Runner, name string, r io.Reader, files *[]string) error {
	if path.Ext(name) == ".xz" && rn != nil {
		return listTarXZ(ctx, rn, name, r, false, files)
	}
	tr, done, err := decompressor(name, r)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer done()
	return tarNames(name, tr, files)
}

// tarNames appends the non-directory paths of a tar stream to files.
func tarNames(name string, tr io.Reader, files *[]string) error {
	t := tar.NewReader(tr)
	for {
		h, err := t.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if p != "" {
			*files = append(*files, p)
		}
	}
}

// buildDeb writes a minimal .deb with the given control text (for tests and
// benchmarks that need many packages without dpkg-deb).
func buildDeb(control string, files map[string]string) ([]byte, error) {
	tarGz := func(entries map[string]string) ([]byte, error) {
		var b bytes.Buffer
		z := gzip.NewWriter(&b)
		t := tar.NewWriter(z)
		for n, c := range entries {
			if err := t.WriteHeader(&tar.Header{Name: "./" + n, Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg}); err != nil {
				return nil, err
			}
			if _, err := t.Write([]byte(c)); err != nil {
				return nil, err
			}
		}
		if err := t.Close(); err != nil {
			return nil, err
		}
		if err := z.Close(); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	ctl, err := tarGz(map[string]string{"control": control})
	if err != nil {
		return nil, err
	}
	data, err := tarGz(files)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteString("!<arch>\n")
	member := func(name string, body []byte) {
		fmt.Fprintf(&out, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, 0, 0, 0, "100644", len(body))
		out.Write(body)
		if len(body)%2 == 1 {
			out.WriteByte('\n')
		}
	}
	member("debian-binary", []byte("2.0\n"))
	member("control.tar.gz", ctl)
	member("data.tar.gz", data)
	return out.Bytes(), nil
}
