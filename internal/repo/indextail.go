package repo

import "sort"

// An index is a main run of chunks followed by an optional tail run (chunks
// with Tail set). Each run is sorted by key and its chunks are ordered by
// their first keys; a key is in at most one run. A change to an existing
// record edits the chunk that holds it. A record whose key is new goes to
// its sorted place in the tail run, not in the main run: adding one package
// to a suite of 60,000 then rewrites (and rehashes) only the end of each
// index file, where inserting it among the main run would rewrite every
// chunk after it and rehash every index file from there. apt does not need
// Packages, Sources or Contents sorted (dak sorts them; nothing requires
// it), and the order stays deterministic: it follows from the history of
// changes. When the tail outgrows tailShare of the main run, or the main
// run is too small to be worth a tail, the tail is merged into the main run
// (its records inserted at their sorted places), so small indexes stay fully
// sorted and the tail stays short.

// tailMinChunks is the size, in target chunks, the main run must have
// before new records go to a tail.
const tailMinChunks = 16

// tailShare: the tail may hold at most 1/tailShare of the main run's bytes.
const tailShare = 16

// mainLen returns the number of chunks of the main run.
func (w *workIndex) mainLen() int {
	for i, c := range w.chunks {
		if c.Tail {
			return i
		}
	}
	return len(w.chunks)
}

// searchRun returns the number of the chunk of the run chunks[lo:hi] whose
// key range holds key (the run's first chunk for a key before it), or -1
// when the run is empty.
func (w *workIndex) searchRun(lo, hi int, key string) int {
	if lo >= hi {
		return -1
	}
	i := lo + sort.Search(hi-lo, func(i int) bool { return w.chunks[lo+i].First > key }) - 1
	if i < lo {
		i = lo
	}
	return i
}

// holds returns the stored record of key in chunk i, if it has one.
func (w *workIndex) holds(i int, key string) ([]byte, bool, error) {
	if i < 0 {
		return nil, false, nil
	}
	recs, err := w.load(i)
	if err != nil {
		return nil, false, err
	}
	j := sort.Search(len(recs), func(j int) bool { return recs[j].Key >= key })
	if j < len(recs) && recs[j].Key == key {
		return recs[j].Data, true, nil
	}
	return nil, false, nil
}

// find returns the number of the stored chunk holding key and its record,
// or -1 when no chunk has it (pending changes are not looked at).
func (w *workIndex) find(key string) (int, []byte, error) {
	n := w.mainLen()
	for _, i := range []int{w.searchRun(0, n, key), w.searchRun(n, len(w.chunks), key)} {
		data, ok, err := w.holds(i, key)
		if err != nil {
			return -1, nil, err
		}
		if ok {
			return i, data, nil
		}
	}
	return -1, nil, nil
}

// locate returns the chunk a pending change of key belongs to: the chunk
// holding key, else for a new key its sorted place in the tail run (tail
// true) or the main run; len(w.chunks) stands for a new chunk at the end.
func (w *workIndex) locate(key string, tail bool) (int, error) {
	i, _, err := w.find(key)
	if err != nil || i >= 0 {
		return i, err
	}
	n := w.mainLen()
	lo, hi := 0, n
	if tail {
		lo, hi = n, len(w.chunks)
	}
	if j := w.searchRun(lo, hi, key); j >= 0 {
		return j, nil
	}
	return len(w.chunks), nil
}

// runBytes returns the uncompressed sizes of the main and tail runs.
func (w *workIndex) runBytes() (main, tail int64) {
	n := w.mainLen()
	for i, c := range w.chunks {
		if i < n {
			main += c.Size
		} else {
			tail += c.Size
		}
	}
	return main, tail
}

// tailAllowed reports whether the main run is large enough for a tail.
func (w *workIndex) tailAllowed() bool {
	main, _ := w.runBytes()
	return main >= tailMinChunks*int64(w.target)
}

// placement decides where the new records of this change go (true: the
// tail run). When they cannot go to the tail, an existing tail is merged
// into the main run first: its records become pending changes.
func (w *workIndex) placement() (bool, error) {
	main, tail := w.runBytes()
	var added int64
	for k, c := range w.overlay {
		if c.del {
			continue
		}
		i, _, err := w.find(k)
		if err != nil {
			return false, err
		}
		if i < 0 {
			added += int64(len(c.data))
		}
	}
	if w.tailAllowed() && tail+added <= main/tailShare {
		return true, nil
	}
	return false, w.mergeTail()
}

// mergeTail moves the tail run's records into the overlay (pending changes
// win) and drops its chunks, so commit inserts them into the main run.
func (w *workIndex) mergeTail() error {
	n := w.mainLen()
	for i := n; i < len(w.chunks); i++ {
		recs, err := w.load(i)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if _, ok := w.overlay[r.Key]; !ok {
				w.overlay[r.Key] = change{data: r.Data}
			}
		}
		delete(w.cache, i)
	}
	w.chunks = w.chunks[:n:n]
	return nil
}
