package repo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/packyard/packyard/internal/run"
)

// listTarXZAt appends the paths of a package's data.tar.xz member (size
// bytes at offset start of src) to files, as listTar does, without copying
// the member through this process: xz(1) reads it straight from src (its
// standard input is src, positioned at start, and --single-stream makes
// it stop at the end of the member). For the 1.3 GB of tar that 1,200
// packages hold, feeding xz through a goroutine and reading it through an
// io.Pipe cost more CPU than the decompression.
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
	return true, listTarXZ(ctx, rn, "data.tar.xz", src, true, files)
}

// listTarXZ appends the paths of the tar stream that xz(1) decompresses
// from in (only its first xz stream with single) to files. xz writes to a
// pipe this process reads with blocking system calls; an xz failure is an
// error even when every tar header was read before it.
func listTarXZ(ctx context.Context, rn *run.Runner, name string, in io.Reader, single bool, files *[]string) error {
	args := []string{"xz", "--decompress", "--stdout", "-T1"}
	if single {
		args = append(args, "--single-stream")
	}
	pr, pw, err := blockingPipe()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer pr.Close()
	errc := make(chan error, 1)
	go func() {
		err := rn.Run(ctx, run.Cmd{Args: args, Stdin: in, Stdout: pw})
		pw.Close()
		errc <- err
	}()
	out := tarOutBuffers.get()
	defer tarOutBuffers.put(out)
	out.Reset(pr)
	err = tarNames(name, out, files)
	io.Copy(io.Discard, out) // let xz finish: tar padding follows the last header
	if xerr := <-errc; xerr != nil {
		return fmt.Errorf("%s: %w", name, xerr)
	}
	return err
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
// r, from its index (xzIndexAt): 12 bytes of stream header, the blocks
// (each rounded up to four bytes), the index and 12 bytes of footer.
func xzStreamSize(r io.ReaderAt, end int64) (int64, error) {
	idx, recs, err := xzIndexAt(r, end)
	if err != nil {
		return 0, err
	}
	blocks := int64(0)
	for _, rec := range recs {
		blocks += (rec.unpadded + 3) &^ 3
		if blocks > idx {
			return 0, errors.New("xz: blocks overrun the file")
		}
	}
	return 12 + blocks + (end - idx), nil
}
