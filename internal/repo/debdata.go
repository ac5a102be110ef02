package repo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/packyard/packyard/internal/run"
)

// listTarXZAt appends the paths of a package's data.tar.xz member (size
// bytes at offset start of src) to files, as listTar does, but with less
// copying: xz(1) reads the member straight from src (its standard input is
// src, positioned at start, and --single-stream makes it stop at the end of
// the member), and writes the tar stream to a pipe this process reads
// without the Go poller. listTar instead feeds xz through a goroutine and
// reads its output through another and an io.Pipe: for the 1.3 GB of tar
// that 1,200 packages hold, those copies and hand-offs cost more CPU than
// the decompression.
//
// listed is false, and nothing is read, when the member is not exactly one
// xz stream (as dpkg-deb writes it) or its index cannot be read: the caller
// then lists it with listTar. src's offset is left anywhere.
func listTarXZAt(ctx context.Context, rn *run.Runner, src *os.File, start, size int64, files *[]string) (listed bool, err error) {
	if n, err := xzStreamSize(src, start+size); err != nil || n != size {
		return false, nil
	}
	if _, err := src.Seek(start, io.SeekStart); err != nil {
		return false, nil
	}
	const name = "data.tar.xz"
	pr, pw, err := blockingPipe()
	if err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	defer pr.Close()
	errc := make(chan error, 1)
	go func() {
		err := rn.Run(ctx, run.Cmd{Args: []string{"xz", "--decompress", "--stdout", "--single-stream", "-T1"}, Stdin: src, Stdout: pw})
		pw.Close()
		errc <- err
	}()
	out := tarOutBuffers.get()
	defer tarOutBuffers.put(out)
	out.Reset(pr)
	err = tarNames(name, out, files)
	io.Copy(io.Discard, out) // let xz finish: tar padding follows the last header
	if xerr := <-errc; xerr != nil {
		return true, fmt.Errorf("%s: %w", name, xerr)
	}
	return true, err
}

// tarOutBuffers recycles the readers listTarXZAt reads xz's output through.
var tarOutBuffers = newFreeList(16, func() *bufio.Reader { return bufio.NewReaderSize(nil, 256<<10) })

// blockingPipe returns a pipe whose read end is read with plain blocking
// system calls (os.NewFile does not register a blocking descriptor with
// the poller), with a 1 MiB buffer where the kernel allows it so that xz
// seldom waits for the reader.
func blockingPipe() (r, w *os.File, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, fmt.Errorf("creating a pipe: %w", err)
	}
	unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, 1<<20) // best effort
	return os.NewFile(uintptr(fds[0]), "|xz"), os.NewFile(uintptr(fds[1]), "xz|"), nil
}

// xzStreamSize returns the size of the xz stream that ends at offset end of
// r, from its stream footer and index (xz file format 1.0.4, sections 2.1.2
// and 4): 12 bytes of stream header, the blocks (each rounded up to four
// bytes), the index and 12 bytes of footer. It reads only the footer and
// the index.
func xzStreamSize(r io.ReaderAt, end int64) (int64, error) {
	if end < 32 {
		return 0, errors.New("xz: too short")
	}
	footer := make([]byte, 12)
	if _, err := r.ReadAt(footer, end-12); err != nil {
		return 0, err
	}
	if !bytes.Equal(footer[10:], []byte("YZ")) {
		return 0, errors.New("xz: no stream footer")
	}
	cs := xzCheckSize(footer[9])
	if cs < 0 {
		return 0, errors.New("xz: unsupported check type")
	}
	backward := (int64(binary.LittleEndian.Uint32(footer[4:8])) + 1) * 4
	if backward > end-24 || backward > 1<<24 {
		return 0, errors.New("xz: bad backward size")
	}
	index := make([]byte, backward)
	if _, err := r.ReadAt(index, end-12-backward); err != nil {
		return 0, err
	}
	ir := bytes.NewReader(index)
	if b, _ := ir.ReadByte(); b != 0 {
		return 0, errors.New("xz: bad index indicator")
	}
	n, err := binary.ReadUvarint(ir)
	if err != nil || n > uint64(backward) {
		return 0, errors.New("xz: bad index")
	}
	blocks := int64(0)
	for i := uint64(0); i < n; i++ {
		unpadded, err := binary.ReadUvarint(ir)
		if err != nil || unpadded < uint64(cs) || unpadded > uint64(end) {
			return 0, errors.New("xz: bad index record")
		}
		if _, err := binary.ReadUvarint(ir); err != nil {
			return 0, errors.New("xz: bad index record")
		}
		blocks += (int64(unpadded) + 3) &^ 3
		if blocks > end {
			return 0, errors.New("xz: blocks overrun the file")
		}
	}
	return 12 + blocks + backward + 12, nil
}
