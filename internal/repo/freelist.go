package repo

// freeList keeps up to its capacity of values for reuse: decoders,
// compressors and buffers whose allocation costs more than their use. It
// is not emptied by garbage collection as sync.Pool is, which matters
// here: a large add collects every few tens of milliseconds, and a
// sync.Pool would then hand out freshly allocated (and page-faulted)
// megabytes again and again.
type freeList[T any] struct {
	c  chan T
	mk func() T
}

// newFreeList returns a list keeping up to capacity values; mk makes a
// new one when none is kept.
func newFreeList[T any](capacity int, mk func() T) *freeList[T] {
	return &freeList[T]{c: make(chan T, capacity), mk: mk}
}

// get returns a kept value, or a new one.
func (l *freeList[T]) get() T {
	select {
	case v := <-l.c:
		return v
	default:
		return l.mk()
	}
}

// put keeps v for reuse, or drops it when the list is full.
func (l *freeList[T]) put(v T) {
	select {
	case l.c <- v:
	default:
	}
}
