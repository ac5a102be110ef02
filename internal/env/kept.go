package env

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// sessionLock is the file in a session directory that an open session
// holds a shared flock on: a kept session is removed (by age or by hand)
// only under an exclusive one, so never while an env shell is in it.
const sessionLock = "session.lock"

// ErrNoSession is returned for a session id that names no session.
var ErrNoSession = errors.New("no such session")

// KeptSession is a session a failed build kept (build --keep), to enter
// with `packyard env shell --session ID`.
type KeptSession struct {
	ID  string `json:"id"`
	Env string `json:"env"`
	// KeptAt is when the build kept it (the time of its record for
	// sessions kept before packyard recorded it).
	KeptAt time.Time `json:"kept_at"`
	// Bytes is the size of what it wrote (its overlay upper directory and
	// /build), in bytes.
	Bytes int64 `json:"bytes"`
	// Open is set while an env shell is in it.
	Open bool `json:"open"`
}

// readSessionRecord reads session.json of the session directory dir.
func readSessionRecord(dir string) (SessionRecord, error) {
	var rec SessionRecord
	data, err := os.ReadFile(filepath.Join(dir, "session.json"))
	if errors.Is(err, os.ErrNotExist) {
		return rec, ErrNoSession
	}
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("session record: %w", err)
	}
	return rec, nil
}

// keptAt returns when the session in dir was kept.
func keptAt(dir string, rec SessionRecord) time.Time {
	if !rec.KeptAt.IsZero() {
		return rec.KeptAt
	}
	if info, err := os.Stat(filepath.Join(dir, "session.json")); err == nil {
		return info.ModTime().UTC()
	}
	return rec.Started
}

// KeptSessions lists the workspace's kept sessions, oldest first (by id
// when kept at the same time).
func (m *Manager) KeptSessions() ([]KeptSession, error) { return m.keptSessions(true) }

// keptSessions lists the kept sessions, with their sizes when sized.
func (m *Manager) keptSessions(sized bool) ([]KeptSession, error) {
	entries, err := os.ReadDir(m.SessionsDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	out := []KeptSession{}
	for _, e := range entries {
		dir := filepath.Join(m.SessionsDir(), e.Name())
		rec, err := readSessionRecord(dir)
		if err != nil || !rec.Kept {
			continue
		}
		k := KeptSession{ID: e.Name(), Env: rec.Env, KeptAt: keptAt(dir, rec)}
		if sized {
			k.Bytes = DiskUsage(dir)
		}
		if lock, ok := tryLockFile(filepath.Join(dir, sessionLock)); ok {
			lock.Close()
		} else {
			k.Open = true
		}
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].KeptAt.Equal(out[j].KeptAt) {
			return out[i].KeptAt.Before(out[j].KeptAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// collectKept removes the kept sessions kept more than maxAge before now
// and not open, adding their ids and sizes to rep; maxAge zero or less
// removes none.
func (m *Manager) collectKept(maxAge time.Duration, now time.Time, rep *GCReport) error {
	if maxAge <= 0 {
		return nil
	}
	kept, err := m.keptSessions(false)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range kept {
		if k.Open || now.Sub(k.KeptAt) < maxAge {
			continue
		}
		dir := filepath.Join(m.SessionsDir(), k.ID)
		size, err := m.removeKept(dir)
		if errors.Is(err, errSessionOpen) {
			continue // entered since it was listed
		} else if err != nil {
			errs = append(errs, err)
			continue
		}
		k.Bytes = size
		m.logger.Info("removed a kept session", "session", k.ID, "kept_at", k.KeptAt, "bytes", k.Bytes)
		rep.Kept = append(rep.Kept, k.ID)
		rep.KeptBytes += k.Bytes
	}
	return errors.Join(errs...)
}
