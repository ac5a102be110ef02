package repo

import (
	"io/fs"
	"syscall"
)

// linkCount returns the number of hard links of a file (1 when unknown).
func linkCount(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Nlink)
	}
	return 1
}
