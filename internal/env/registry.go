package env

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/packyard/packyard/internal/run"
)

// The session registry is the directory <workspace>/tmp/sessions: one
// directory per session with session.json (the owning packyard process and
// its start time) and pids/<pid> for every bwrap it started (holding that
// process's start time, so a reused pid is never killed). A session whose
// owner is gone is a leftover: GC kills its registered processes (their
// process groups), detaches any mount below it, and removes it.

// procStartTime returns the start time of pid in clock ticks since boot
// (proc(5), /proc/<pid>/stat field 22), or an error if pid does not exist.
func procStartTime(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStatStartTime(string(data))
}

// zombie reports whether pid has exited and waits to be reaped.
func zombie(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(data), ')')
	return i >= 0 && i+2 < len(data) && data[i+2] == 'Z'
}

// parseStatStartTime extracts field 22 (starttime) from a /proc/<pid>/stat
// line; the command name in field 2 may hold spaces and parentheses.
func parseStatStartTime(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed stat line")
	}
	fields := strings.Fields(stat[i+1:])
	// fields[0] is field 3 (state); starttime is field 22.
	if len(fields) < 20 {
		return 0, errors.New("short stat line")
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// alive reports whether pid runs and started at startTime.
func alive(pid int, startTime uint64) bool {
	st, err := procStartTime(pid)
	return err == nil && st == startTime
}

// registerPID records a process started for the session.
func (s *Session) registerPID(pid int) {
	st, err := procStartTime(pid)
	if err != nil {
		return
	}
	dir := filepath.Join(s.Dir, "pids")
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, strconv.Itoa(pid)), []byte(strconv.FormatUint(st, 10)), 0o644)
}

// unregisterPID forgets a process that has exited.
func (s *Session) unregisterPID(pid int) {
	_ = os.Remove(filepath.Join(s.Dir, "pids", strconv.Itoa(pid)))
}

// GCReport says what GC cleaned.
type GCReport struct {
	// Sessions are the leftover session ids removed.
	Sessions []string `json:"sessions"`
	// Killed are the leftover process ids killed.
	Killed []int `json:"killed"`
	// Unmounted are the leftover mount points detached.
	Unmounted []string `json:"unmounted"`
	// Partial are half-made environment directories removed.
	Partial []string `json:"partial"`
	// Layers are the build-dependency layers collected (env/hash).
	Layers []string `json:"layers"`
	// Kept are the kept sessions removed for their age
	// (build.kept-max-age), and KeptBytes their size in bytes.
	Kept      []string `json:"kept"`
	KeptBytes int64    `json:"kept_bytes"`
}

// GC cleans up after packyard processes that died without ending their
// sessions (kill -9, power loss): it kills their registered processes,
// detaches their mounts and removes their directories, and removes
// half-made environments no create is working on. Sessions of live
// packyard processes are left alone, and so are kept sessions (build
// --keep) until they are older than build.kept-max-age, when set, and not
// open.
func (m *Manager) GC(ctx context.Context) (*GCReport, error) {
	rep := &GCReport{}
	entries, err := os.ReadDir(m.SessionsDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		if err := m.gcSession(filepath.Join(m.SessionsDir(), e.Name()), rep); err != nil {
			errs = append(errs, err)
		}
	}
	if err := m.collectKept(time.Duration(m.cfg.Build.KeptMaxAge), time.Now(), rep); err != nil {
		errs = append(errs, err)
	}
	if err := m.gcPartialEnvs(rep); err != nil {
		errs = append(errs, err)
	}
	if err := m.gcLayers(rep); err != nil {
		errs = append(errs, err)
	}
	if len(rep.Sessions)+len(rep.Partial) > 0 {
		m.logger.Info("cleaned up leftovers", "sessions", len(rep.Sessions), "killed", len(rep.Killed),
			"unmounted", len(rep.Unmounted), "partial_envs", len(rep.Partial))
	}
	return rep, errors.Join(errs...)
}

func (m *Manager) gcSession(dir string, rep *GCReport) error {
	rec, err := readSessionRecord(dir)
	if err == nil && (rec.Kept || alive(rec.PID, rec.StartTime)) {
		return nil
	}
	// A directory without a readable record was being created or is junk;
	// give a creator a moment by requiring that it is not brand new.
	if err != nil && recentlyModified(dir) {
		return nil
	}
	pids, _ := os.ReadDir(filepath.Join(dir, "pids"))
	for _, p := range pids {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		raw, _ := os.ReadFile(filepath.Join(dir, "pids", p.Name()))
		st, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
		if err != nil || !alive(pid, st) || zombie(pid) {
			continue
		}
		// bwrap ran in its own process group (run.Cmd.Setpgid).
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		rep.Killed = append(rep.Killed, pid)
	}
	mounts, err := mountsBelow(dir)
	if err != nil {
		return err
	}
	for _, mp := range mounts {
		if err := m.unmountLeftover(mp); err != nil {
			return err
		}
		rep.Unmounted = append(rep.Unmounted, mp)
	}
	if err := m.removeAll(dir); err != nil {
		return fmt.Errorf("removing leftover session: %w", err)
	}
	rep.Sessions = append(rep.Sessions, filepath.Base(dir))
	return nil
}

// unmountLeftover detaches a leftover mount point. Sessions mount only in
// namespaces of their own, which die with them; what may still show here
// is a mount made otherwise, such as a fuse-overlayfs mounted by hand or by
// an older packyard. Without root only fuse mounts of the user can be
// released, with fusermount3 -u -z (lazy).
func (m *Manager) unmountLeftover(mp string) error {
	err := syscall.Unmount(mp, syscall.MNT_DETACH)
	if err == nil || !m.rootless {
		if err != nil {
			return fmt.Errorf("unmounting leftover %s: %w", mp, err)
		}
		return nil
	}
	if ferr := m.runner.Run(context.Background(), run.Cmd{Args: FusermountArgs(mp)}); ferr != nil {
		return fmt.Errorf("unmounting leftover %s: %w", mp, errors.Join(err, ferr))
	}
	return nil
}

// FusermountArgs returns the command that lazily unmounts a fuse mount of
// the calling user (fusermount3(1)).
func FusermountArgs(mp string) []string { return []string{"fusermount3", "-u", "-z", "--", mp} }

// mountsBelow returns the mount points of this mount namespace at or below
// dir, deepest first (proc(5), /proc/self/mountinfo field 5).
func mountsBelow(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("reading mounts: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountPath(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	// Deeper mounts first.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, sc.Err()
}

func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// gcPartialEnvs removes .new-* and .old-* environment directories whose
// environment lock is free (no create or refresh is running).
func (m *Manager) gcPartialEnvs(rep *GCReport) error {
	dir := m.cfg.WorkspaceDir().Envs()
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("listing environments: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		var rest string
		switch {
		case strings.HasPrefix(n, ".new-"):
			rest = strings.TrimPrefix(n, ".new-")
		case strings.HasPrefix(n, ".old-"):
			rest = strings.TrimPrefix(n, ".old-")
		default:
			continue
		}
		i := strings.LastIndexByte(rest, '-')
		if i < 0 {
			continue
		}
		var unlock func()
		if strings.HasPrefix(n, ".old-") {
			// Old environments go once no session uses them.
			f, ok := tryLockFile(filepath.Join(dir, n, "use.lock"))
			if !ok {
				continue
			}
			unlock = func() { f.Close() }
		} else {
			var ok bool
			if unlock, ok = m.tryLock(rest[:i]); !ok {
				continue
			}
		}
		err := m.removeAll(filepath.Join(dir, n))
		unlock()
		if err != nil {
			return fmt.Errorf("removing partial environment: %w", err)
		}
		rep.Partial = append(rep.Partial, n)
	}
	return nil
}

// Default layer limits, used when the config sets neither.
const (
	DefaultLayerMaxAge   = 30 * 24 * time.Hour
	DefaultLayerMaxBytes = 20 << 30
)

// LayerPolicy returns the layer limits from the config (build.layer-max-age,
// build.layer-max-size-mb), or the defaults when it sets neither.
func (m *Manager) LayerPolicy() LayerPolicy {
	p := LayerPolicy{MaxAge: time.Duration(m.cfg.Build.LayerMaxAge), MaxBytes: m.cfg.Build.LayerMaxSizeMB << 20}
	if p.MaxAge == 0 && p.MaxBytes == 0 {
		p = LayerPolicy{MaxAge: DefaultLayerMaxAge, MaxBytes: DefaultLayerMaxBytes}
	}
	return p
}

func (m *Manager) gcLayers(rep *GCReport) error {
	policy := m.LayerPolicy()
	if policy.MaxAge == 0 && policy.MaxBytes == 0 {
		return nil
	}
	infos, err := m.List()
	if err != nil {
		return err
	}
	var errs []error
	m.eachUsable(infos, func(in Info, e *Env) {
		removed, err := m.collectLayers(e, policy)
		for _, h := range removed {
			rep.Layers = append(rep.Layers, in.Name+"/"+h)
		}
		if err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// eachUsable calls fn with every environment of infos whose status is ok
// and that opens; the others are left out.
func (m *Manager) eachUsable(infos []Info, fn func(Info, *Env)) {
	for _, in := range infos {
		if in.Status != "ok" {
			continue
		}
		if e, err := m.Open(in.Codename, in.Architecture, in.Variant); err == nil {
			fn(in, e)
		}
	}
}

// collectLayers is CollectLayers, which without root cannot remove the
// files of a layer that belong to subordinate ids: it leaves the layer
// renamed to layers/.trash-<hash>-<id>, and here those are removed from the
// user namespace and the collection resumed.
func (m *Manager) collectLayers(e *Env, policy LayerPolicy) ([]string, error) {
	var all []string
	for {
		removed, err := CollectLayers(e, policy, time.Now())
		all = append(all, removed...)
		if err == nil || !m.rootless {
			return all, err
		}
		swept, serr := m.sweepTrash(e)
		all = append(all, swept...)
		if serr != nil || len(swept) == 0 {
			return all, errors.Join(err, serr)
		}
	}
}

// sweepTrash removes e's layers/.trash-* directories and returns their
// layer hashes.
func (m *Manager) sweepTrash(e *Env) ([]string, error) {
	trash, _ := filepath.Glob(filepath.Join(e.LayersDir(), ".trash-*"))
	var hashes []string
	for _, t := range trash {
		if err := m.removeAll(t); err != nil {
			return hashes, err
		}
		name := strings.TrimPrefix(filepath.Base(t), ".trash-")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		hashes = append(hashes, name)
	}
	return hashes, nil
}

// procRef names one process: its pid and start time.
type procRef struct {
	pid   int
	start uint64
}

// findChild returns bwrap's first child (the sandbox's pid 1), registering
// it too; zero when bwrap exited before one was seen.
func (s *Session) findChild(bwrap int) procRef {
	path := fmt.Sprintf("/proc/%d/task/%d/children", bwrap, bwrap)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(path)
		if err != nil {
			return procRef{}
		}
		if f := strings.Fields(string(data)); len(f) > 0 {
			pid, _ := strconv.Atoi(f[0])
			st, err := procStartTime(pid)
			if err != nil {
				return procRef{}
			}
			s.registerPID(pid)
			return procRef{pid: pid, start: st}
		}
		time.Sleep(200 * time.Microsecond)
	}
	return procRef{}
}

// waitGone waits until p has exited (gone or a zombie), at most max. A pid
// namespace's init exits only after every other process in it is gone.
func waitGone(p procRef, max time.Duration) {
	if p.pid == 0 {
		return
	}
	deadline := time.Now().Add(max)
	for alive(p.pid, p.start) && !zombie(p.pid) && time.Now().Before(deadline) {
		time.Sleep(500 * time.Microsecond)
	}
}
