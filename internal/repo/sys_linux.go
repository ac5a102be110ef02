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
