package env

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/packyard/packyard/internal/config"
)

// BuildUser is the non-root user that builds run as inside an environment.
// The fixed uid and gid keep file ownership stable across environments.
const (
	BuildUser = "packyard"
	BuildUID  = 2000
	BuildGID  = 2000
)

// DefaultVariant is the mmdebstrap variant of build environments: Essential
// plus build-essential (mmdebstrap(1), --variant=buildd).
const DefaultVariant = "buildd"

// BasePackages are installed in every environment besides the variant's set:
// fakeroot for packages that need (fake) root in binary targets.
var basePackages = []string{"fakeroot"}

// Source is one apt source line of an environment: an archive URI, one
// suite, its components, and the keyring that verifies it.
type Source struct {
	Archive    string
	URI        string
	Suite      string
	Components []string
	// Keyring is the host path of the archive keyring ("" to use apt's default).
	Keyring string
}

// SourcesFor returns the apt sources of codename from archives: every suite
// that is the codename itself or starts with "<codename>-" (bookworm,
// bookworm-updates, bookworm-security), in config order, of the archives
// that carry arch (an archive listing no architectures carries all). The
// result is empty when no archive carries the codename.
func SourcesFor(codename, arch string, archives []config.Archive) []Source {
	var out []Source
	for _, a := range archives {
		if len(a.Architectures) > 0 && !slices.Contains(a.Architectures, arch) {
			continue
		}
		for _, s := range a.Suites {
			if s != codename && !strings.HasPrefix(s, codename+"-") {
				continue
			}
			comps := a.Components
			if len(comps) == 0 {
				comps = []string{"main"}
			}
			out = append(out, Source{Archive: a.Name, URI: a.URI, Suite: s, Components: comps, Keyring: a.SignedBy})
		}
	}
	return out
}

// Line renders s as a one-line-style apt source (sources.list(5)); keyring
// replaces s.Keyring in signed-by, so the same source can name a host path
// (for mmdebstrap) or a path inside the environment.
func (s Source) Line(keyring string) string {
	opts := ""
	if keyring != "" {
		opts = "[signed-by=" + keyring + "] "
	}
	return "deb " + opts + s.URI + " " + s.Suite + " " + strings.Join(s.Components, " ")
}

// EnvKeyringPath is where an archive's keyring is copied inside an
// environment, so its sources.list never depends on host paths.
func EnvKeyringPath(archive string) string {
	return "/etc/apt/keyrings/packyard-" + archive + ".gpg"
}

// CreateSpec describes one environment to create with mmdebstrap.
type CreateSpec struct {
	Codename     string
	Architecture string
	Variant      string
	Sources      []Source
	// Include lists extra packages to install.
	Include []string
	// Target is the directory mmdebstrap fills.
	Target string
	// Mode is mmdebstrap's --mode: "root" (the default) or "unshare"
	// (without root, run as root of the rootless user namespace: see
	// UserNSArgs).
	Mode string
}

// MmdebstrapArgs returns the mmdebstrap command line for spec: root mode
// unless spec.Mode says otherwise,
// directory format, apt lists kept (sessions install build-dependencies
// without an apt-get update), each distinct keyring passed with --keyring and
// named in signed-by, and hooks that add the build user.
func MmdebstrapArgs(spec CreateSpec) []string {
	variant := spec.Variant
	if variant == "" {
		variant = DefaultVariant
	}
	mode := spec.Mode
	if mode == "" {
		mode = "root"
	}
	args := []string{"mmdebstrap",
		"--variant=" + variant,
		"--mode=" + mode,
		"--format=directory",
		"--architectures=" + spec.Architecture,
		"--skip=cleanup/apt/lists",
	}
	include := append(append([]string(nil), basePackages...), spec.Include...)
	sort.Strings(include)
	include = dedupe(include)
	args = append(args, "--include="+strings.Join(include, ","))
	seen := map[string]bool{}
	for _, s := range spec.Sources {
		if s.Keyring != "" && !seen[s.Keyring] {
			seen[s.Keyring] = true
			args = append(args, "--keyring="+s.Keyring)
		}
	}
	args = append(args,
		"--aptopt=APT::Install-Recommends \"false\"",
		"--customize-hook=chroot \"$1\" groupadd --gid "+strconv.Itoa(BuildGID)+" "+BuildUser,
		"--customize-hook=chroot \"$1\" useradd --uid "+strconv.Itoa(BuildUID)+" --gid "+strconv.Itoa(BuildGID)+
			" --home-dir /nonexistent --no-create-home --shell /bin/sh "+BuildUser,
		spec.Codename, spec.Target)
	for _, s := range spec.Sources {
		args = append(args, s.Line(s.Keyring))
	}
	return args
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if s == "" || (i > 0 && s == sorted[i-1]) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// Mount is one bind mount into a session: host Source at Dest.
type Mount struct {
	Source   string
	Dest     string
	ReadOnly bool
}

// BwrapSpec describes one step run with bwrap inside a session root.
type BwrapSpec struct {
	// Root is the host path of the session's merged root filesystem.
	Root string
	// Network keeps the host network; false gives a network namespace with
	// only loopback.
	Network  bool
	Hostname string
	Mounts   []Mount
	// Dir is the working directory inside the session.
	Dir string
	// Env is the complete environment ("K=V"); nothing is inherited.
	Env []string
	// UID and GID, when UID is non-zero, switch to that user with setpriv
	// before Command runs, dropping every capability.
	UID, GID int
	Command  []string
	// Interactive keeps the caller's terminal session (no --new-session).
	Interactive bool
}

// BwrapArgs returns the bwrap command line for spec: the session root
// bound on /, a fresh /proc and minimal /dev, own pid, ipc, uts and mount
// namespaces (net too unless spec.Network), a new session, death with the
// parent, and a cleared environment.
func BwrapArgs(spec BwrapSpec) []string {
	args := []string{"bwrap",
		"--bind", spec.Root, "/",
		"--proc", "/proc",
		"--dev", "/dev",
		"--tmpfs", "/dev/shm",
		"--unshare-pid", "--unshare-ipc", "--unshare-uts",
	}
	if !spec.Network {
		args = append(args, "--unshare-net")
	}
	hostname := spec.Hostname
	if hostname == "" {
		hostname = "packyard"
	}
	args = append(args, "--hostname", hostname, "--die-with-parent")
	if !spec.Interactive {
		args = append(args, "--new-session")
	}
	for _, m := range spec.Mounts {
		// bwrap makes missing mount points mode 0700, which hides a bound
		// keyring from apt's unprivileged _apt user: make parents 0755.
		for _, dir := range parentDirs(m.Dest) {
			args = append(args, "--perms", "0755", "--dir", dir)
		}
		flag := "--bind"
		if m.ReadOnly {
			flag = "--ro-bind"
		}
		args = append(args, flag, m.Source, m.Dest)
	}
	if spec.Dir != "" {
		args = append(args, "--chdir", spec.Dir)
	}
	args = append(args, "--clearenv")
	for _, kv := range spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		args = append(args, "--setenv", k, v)
	}
	args = append(args, "--")
	if spec.UID != 0 {
		args = append(args, "setpriv",
			"--reuid="+strconv.Itoa(spec.UID), "--regid="+strconv.Itoa(spec.GID),
			"--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--")
	}
	return append(args, spec.Command...)
}

// OverlayOptions returns the overlayfs mount data for lower directories
// (topmost first), upper and work.
func OverlayOptions(lowers []string, upper, work string) string {
	return fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s",
		strings.Join(lowers, ":"), filepath.Clean(upper), filepath.Clean(work))
}

// parentDirs returns the ancestors of an absolute path below "/", outermost
// first: "/a/b/c" gives "/a", "/a/b".
func parentDirs(p string) []string {
	var out []string
	for d := filepath.Dir(filepath.Clean(p)); d != "/" && d != "."; d = filepath.Dir(d) {
		out = append([]string{d}, out...)
	}
	return out
}
