package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// syncSet collects files and directories written by one change and makes
// them durable together, just before the change becomes visible. fsyncs
// issued in parallel share journal commits (ext4, xfs), so a publish pays
// for about one commit instead of one per file.
type syncSet struct {
	mu    sync.Mutex
	paths map[string]struct{}
}

func newSyncSet() *syncSet { return &syncSet{paths: map[string]struct{}{}} }

// add records paths to fsync; a created file needs its directory too.
func (s *syncSet) add(paths ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range paths {
		s.paths[p] = struct{}{}
	}
}

// merge adds everything o recorded.
func (s *syncSet) merge(o *syncSet) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for p := range o.paths {
		s.add(p)
	}
}

// addFile records a created file and its directory.
func (s *syncSet) addFile(p string) { s.add(p, filepath.Dir(p)) }

// flush fsyncs everything recorded, in parallel, and forgets it.
func (s *syncSet) flush() error {
	s.mu.Lock()
	paths := make([]string, 0, len(s.paths))
	for p := range s.paths {
		paths = append(paths, p)
	}
	s.paths = map[string]struct{}{}
	s.mu.Unlock()
	if len(paths) > syncfsThreshold {
		// One syncfs(2) costs less than hundreds of open+fsync pairs.
		return syncFS(paths[0])
	}
	const workers = 32
	ch := make(chan string)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for i := 0; i < workers && i < len(paths); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range ch {
				if err := fsyncPath(p); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for _, p := range paths {
		ch <- p
	}
	close(ch)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func fsyncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// writeFileDeferred writes data to p through a temporary file and rename,
// leaving the fsync to ss.
func writeFileDeferred(p string, data []byte, ss *syncSet) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	ss.addFile(p)
	return nil
}

// inFanout runs op, which creates an entry in the two-hex-digit
// subdirectory dir of a content-addressed directory; when dir is missing
// it is created (and its parent recorded in ss) and op runs again. The
// subdirectories are made as first used: a new repository does not pay
// for 768 mkdirs.
func inFanout(dir string, ss *syncSet, op func() error) error {
	err := op()
	if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if _, serr := os.Stat(dir); serr == nil {
		// dir is there: another goroutine made it after op failed, or
		// what op reads is missing; one more try tells them apart.
		return op()
	}
	if merr := os.Mkdir(dir, 0o755); merr != nil && !errors.Is(merr, os.ErrExist) {
		return merr
	}
	ss.add(dir, filepath.Dir(dir))
	return op()
}

// writeFileFanout is writeFileDeferred into a fanout subdirectory (see
// inFanout).
func writeFileFanout(p string, data []byte, ss *syncSet) error {
	return inFanout(filepath.Dir(p), ss, func() error { return writeFileDeferred(p, data, ss) })
}

// syncfsThreshold is the number of paths above which flush syncs the whole
// filesystem instead of each path.
const syncfsThreshold = 256

// syncFS commits the filesystem holding p (syncfs(2)).
func syncFS(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", p, err)
	}
	return nil
}
