package archive

// Progress displays downloads. Start announces a download of total bytes
// and returns a function receiving byte counts as they arrive and one to
// call when the download ends. Implementations must be safe for concurrent
// use.
type Progress interface {
	Start(name string, total int64) (add func(n int), done func())
}
