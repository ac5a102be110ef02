package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// tailBytes is how much of stderr (or combined output) an *Error keeps.
const tailBytes = 4096

// Cmd describes one external program invocation.
//
// Args[0] is the program, looked up in PATH. Env, when non-nil, replaces the
// environment entirely (nil inherits packyard's). Log, when non-nil, receives
// stdout and stderr interleaved as the program writes them. Stdout, when
// non-nil, receives stdout instead of Log (Log still receives stderr).
type Cmd struct {
	Args   []string
	Dir    string
	Env    []string
	Stdin  io.Reader
	Stdout io.Writer
	Log    io.Writer
	// Setpgid puts the program in its own process group, and cancellation
	// kills the whole group, so no grandchild outlives the call.
	Setpgid bool
	// WaitDelay bounds how long to wait for output pipes after the process
	// exits or is killed. Zero means 5 seconds.
	WaitDelay time.Duration
	// Started, when set, is called with the process id once the program has
	// started, before Run waits for it (to register it for later cleanup).
	Started func(pid int)
	// Pdeathsig, when non-zero, is sent to the program when the OS thread
	// that started it exits (prctl(2) PR_SET_PDEATHSIG): callers that need
	// it tied to packyard's life start it from a locked thread.
	Pdeathsig syscall.Signal
}

// Error is a failed external program: it ran and exited non-zero, was killed,
// or could not be started. Tail holds the last few KiB of its stderr.
type Error struct {
	Args     []string
	ExitCode int // -1 when killed by a signal or not started
	Tail     string
	Err      error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s: %v", strings.Join(e.Args, " "), e.Err)
	if e.ExitCode >= 0 {
		msg = fmt.Sprintf("%s: exit status %d", e.Args[0], e.ExitCode)
	}
	if t := strings.TrimSpace(e.Tail); t != "" {
		msg += "\n" + indent(lastLines(t, 15))
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// NotFoundError reports a program that is not installed. Package names the
// Debian package that provides it, when known.
type NotFoundError struct {
	Program string
	Package string
}

func (e *NotFoundError) Error() string {
	if e.Package != "" {
		return fmt.Sprintf("%s not found in PATH: install it with apt-get install %s", e.Program, e.Package)
	}
	return fmt.Sprintf("%s not found in PATH", e.Program)
}

// Runner executes commands and logs them to a slog.Logger.
type Runner struct {
	Logger *slog.Logger
}

// New returns a Runner logging to logger (slog.Default() when nil).
func New(logger *slog.Logger) *Runner {
	if logger == nil {
		logger = slog.Default()
	}
	return &Runner{Logger: logger}
}

// Run executes c and waits for it. It returns nil on exit status 0, a
// *NotFoundError when the program is missing, and a *Error otherwise.
func (r *Runner) Run(ctx context.Context, c Cmd) error {
	if len(c.Args) == 0 {
		return errors.New("run: empty command")
	}
	if _, err := exec.LookPath(c.Args[0]); err != nil {
		return &NotFoundError{Program: c.Args[0], Package: PackageFor(c.Args[0])}
	}
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	cmd.Stdin = c.Stdin
	tail := &tailBuffer{max: tailBytes}
	logw := c.Log
	if logw == nil {
		logw = io.Discard
	}
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	} else {
		cmd.Stdout = io.MultiWriter(logw, tail)
	}
	cmd.Stderr = io.MultiWriter(logw, tail)
	if c.Pdeathsig != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: c.Pdeathsig}
	}
	if c.Setpgid {
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.Setpgid = true
		cmd.Cancel = func() error {
			if cmd.Process == nil {
				return nil
			}
			return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	cmd.WaitDelay = c.WaitDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 5 * time.Second
	}
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		if c.Started != nil {
			c.Started(cmd.Process.Pid)
		}
		err = cmd.Wait()
	}
	dur := time.Since(start)
	if err == nil {
		r.Logger.Debug("ran", "cmd", c.Args[0], "args", len(c.Args)-1, "duration", dur.Round(time.Millisecond))
		return nil
	}
	code := -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	r.Logger.Warn("command failed", "cmd", c.Args[0], "exit", code, "duration", dur.Round(time.Millisecond))
	return &Error{Args: append([]string(nil), c.Args...), ExitCode: code, Tail: tail.String(), Err: err}
}

// Output runs c and returns its stdout; stderr goes to c.Log and the error tail.
func (r *Runner) Output(ctx context.Context, c Cmd) ([]byte, error) {
	var out bytes.Buffer
	c.Stdout = &out
	err := r.Run(ctx, c)
	return out.Bytes(), err
}

// Require returns a *NotFoundError for the first of programs missing from PATH.
func Require(programs ...string) error {
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			return &NotFoundError{Program: p, Package: PackageFor(p)}
		}
	}
	return nil
}

// hostPackages maps programs packyard drives to the Debian package providing them.
var hostPackages = map[string]string{
	"mmdebstrap":         "mmdebstrap",
	"bwrap":              "bubblewrap",
	"fuse-overlayfs":     "fuse-overlayfs",
	"newuidmap":          "uidmap",
	"sbuild":             "sbuild",
	"dpkg-source":        "dpkg-dev",
	"dpkg-buildpackage":  "dpkg-dev",
	"dpkg-genchanges":    "dpkg-dev",
	"lintian":            "lintian",
	"dose-distcheck":     "dose-distcheck",
	"dose-builddebcheck": "dose-builddebcheck",
	"xorriso":            "xorriso",
	"gpgv":               "gpgv",
	"sqv":                "sqv",
	"apt-ftparchive":     "apt-utils",
	"reprepro":           "reprepro",
	"aptly":              "aptly",
	"dput":               "dput",
	"git":                "git",
	"mount":              "mount",
	"umount":             "mount",
	"tar":                "tar",
	"xz":                 "xz-utils",
	"autopkgtest":        "autopkgtest",
	"piuparts":           "piuparts",
	"unshare":            "util-linux",
	"arch-test":          "arch-test",
	"apt-get":            "apt",
	"dpkg":               "dpkg",
	"debsign":            "devscripts",
	"diffoscope":         "diffoscope",
	"setpriv":            "util-linux",
	"useradd":            "passwd",
	"usermod":            "passwd",
	"newgidmap":          "uidmap",
	"nsenter":            "util-linux",
	"fusermount3":        "fuse3",
}

// PackageFor names the Debian package that ships program, or "" if unknown.
func PackageFor(program string) string { return hostPackages[program] }

type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	if len(t.buf) > t.max {
		return string(t.buf[len(t.buf)-t.max:])
	}
	return string(t.buf)
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// OpenLog opens (creating or appending) a log file for command output.
func OpenLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening log: %w", err)
	}
	return f, nil
}
