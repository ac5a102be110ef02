package env

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/packyard/packyard/internal/run"
)

// A holder keeps a rootless session's namespaces: `unshare --map-auto
// --map-root-user --mount --pid --fork --kill-child` running a shell that
// mounts the overlay (kernel overlayfs with userxattr, or fuse-overlayfs,
// whose daemon then lives in the holder's pid namespace), prints the
// driver it used, and waits for end of file on its stdin. Steps enter the
// user and mount namespaces with nsenter(1) and run bwrap there as before.
//
// Nothing outlives the session: Close closes the holder's stdin, so the
// shell (pid 1 of the holder's pid namespace) exits and the kernel kills
// every other process in that namespace (the fuse-overlayfs daemon); the
// mount namespace, and with it the overlay, goes with its last process.
// When packyard dies the pipe closes all the same, and the holder gets
// SIGKILL as its parent-death signal; steps' bwrap processes die with
// their parent (--die-with-parent) and take their pid namespaces along.

// overlayMountScript mounts the session overlay: $1 is the driver (kernel,
// fuse or auto: kernel, else fuse), $2 the kernel overlay options, $3
// fuse-overlayfs's, $4 the mount point. It prints the driver used.
const overlayMountScript = `case "$1" in
kernel) mount -t overlay -o "$2" overlay "$4"; echo kernel ;;
fuse) fuse-overlayfs -o "$3" "$4" >&2; echo fuse ;;
*) if mount -t overlay -o "$2" overlay "$4"; then echo kernel; else fuse-overlayfs -o "$3" "$4" >&2; echo fuse; fi ;;
esac
`

// holderScript mounts, reports, and waits for its stdin to close.
const holderScript = "set -e\n" + overlayMountScript + `read -r _ || true
`

// mountScript mounts once more in a running holder.
const mountScript = "set -e\n" + overlayMountScript

// KernelOverlayOptions are OverlayOptions for a kernel overlayfs mounted in
// a user namespace: its whiteouts and opaque marks are user.overlay.*
// extended attributes, since trusted.* ones need real root.
func KernelOverlayOptions(lowers []string, upper, work string) string {
	return OverlayOptions(lowers, upper, work) + ",userxattr"
}

// HolderArgs returns the command line of a rootless session's holder
// mounting merged with driver.
func HolderArgs(driver string, lowers []string, upper, work, merged string) []string {
	args := []string{"unshare", "--map-auto", "--map-root-user", "--mount", "--propagation", "private",
		"--pid", "--fork", "--kill-child", "--", "sh", "-c", holderScript, "packyard-session"}
	return append(args, mountOperands(driver, lowers, upper, work, merged)...)
}

// MountArgs returns the command that mounts an overlay over lowers at
// merged in the holder's namespaces (its pid namespace too, so a
// fuse-overlayfs daemon dies with the holder).
func MountArgs(holder int, driver string, lowers []string, upper, work, merged string) []string {
	args := NsenterArgs(holder, true, "sh", "-c", mountScript, "packyard-mount")
	return append(args, mountOperands(driver, lowers, upper, work, merged)...)
}

// UnmountArgs returns the command that unmounts merged in the holder's
// namespaces.
func UnmountArgs(holder int, merged string) []string {
	return NsenterArgs(holder, false, "umount", merged)
}

func mountOperands(driver string, lowers []string, upper, work, merged string) []string {
	return []string{driver, KernelOverlayOptions(lowers, upper, work), OverlayOptions(lowers, upper, work), merged}
}

// NsenterArgs returns args run as root in the user and mount namespaces of
// the holder process (and its pid namespace when pid is set).
func NsenterArgs(holder int, pid bool, args ...string) []string {
	out := []string{"nsenter", "--target", strconv.Itoa(holder), "--user", "--mount"}
	if pid {
		out = append(out, "--pid")
	}
	return append(append(out, "--"), args...)
}

// holder is one running holder process.
type holder struct {
	// pid is unshare's; init is its child, the shell that is pid 1 of the
	// holder's pid namespace and the target of nsenter (unshare itself
	// stays in the parent pid namespace).
	pid    int
	init   int
	driver string
	stdin  *os.File // write end: closing it ends the holder
	done   chan error
	once   sync.Once
}

// startHolder starts a holder and waits until its overlay is mounted. The
// holder is started from a locked OS thread that lives as long as the
// holder, so its parent-death signal fires only when packyard dies.
func startHolder(runner *run.Runner, args []string, started func(pid int)) (*holder, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting session namespace: %w", err)
	}
	h := &holder{stdin: w, done: make(chan error, 1)}
	lines := &lineWriter{line: make(chan string, 1)}
	pids := make(chan int, 1)
	go func() {
		runtime.LockOSThread()
		err := runner.Run(context.Background(), run.Cmd{Args: args, Stdin: r, Stdout: lines, Setpgid: true,
			Pdeathsig: syscall.SIGKILL, Started: func(p int) {
				pids <- p
				if started != nil {
					started(p)
				}
			}})
		r.Close()
		h.done <- err
	}()
	select {
	case driver := <-lines.line:
		h.driver, h.pid = driver, <-pids
		if h.init = firstChild(h.pid); h.init == 0 {
			h.stop()
			return nil, errors.New("mounting session overlay without root: the holder has no child process")
		}
		return h, nil
	case err := <-h.done:
		w.Close()
		r.Close()
		if err == nil {
			err = errors.New("it exited before mounting")
		}
		return nil, fmt.Errorf("mounting session overlay without root: %w", err)
	}
}

// stop ends the holder and waits for it.
func (h *holder) stop() {
	h.once.Do(func() {
		h.stdin.Close()
		<-h.done
	})
}

// firstChild returns the first child process of pid (proc(5),
// /proc/<pid>/task/<pid>/children), 0 when there is none.
func firstChild(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// lineWriter sends the first complete line written to it.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	line chan string
	sent bool
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent {
		return len(p), nil
	}
	l.buf = append(l.buf, p...)
	if i := strings.IndexByte(string(l.buf), '\n'); i >= 0 {
		l.sent = true
		l.line <- strings.TrimSpace(string(l.buf[:i]))
	}
	return len(p), nil
}
