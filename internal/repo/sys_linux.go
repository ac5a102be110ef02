package repo

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// linkCount returns the number of hard links of a file (1 when unknown).
func linkCount(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Nlink)
	}
	return 1
}

// startWriteback asks the kernel to start writing f's dirty pages to disk
// now, without waiting (sync_file_range(2), SYNC_FILE_RANGE_WRITE): the
// fsync or syncfs that later makes a change durable then mostly finds the
// data already written, and the disk works while the CPU hashes and
// compresses the rest. Errors are ignored; the later sync reports them.
func startWriteback(f *os.File) {
	_ = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
}

// openFile opens p for reading as os.Open does, without offering the
// descriptor to Go's network poller: os.Open tries that for every file
// (fcntl, epoll_ctl failing with EPERM for a regular file, fcntl again),
// six system calls where two do, and an add opens thousands of files.
func openFile(p string) (*os.File, error) {
	for {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: p, Err: err}
		}
		return os.NewFile(uintptr(fd), p), nil
	}
}
