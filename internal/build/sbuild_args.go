package build

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// SbuildOptions is everything SbuildArgs turns into an sbuild command line.
type SbuildOptions struct {
	// Tarball is the environment tarball for --chroot-mode=unshare.
	Tarball      string
	Codename     string
	Architecture string
	NoArchAll    bool
	Source       bool
	Profiles     []string
	// AddDepends are extra packages installed with the build-dependencies.
	AddDepends []string
	// ExtraRepositories are apt source lines; ExtraRepositoryKeys the
	// keyrings that verify them (binary or armored).
	ExtraRepositories   []string
	ExtraRepositoryKeys []string
	// PinOrigin, when set, pins packages from that origin host highest
	// (apt_preferences(5) "Pin: origin").
	PinOrigin string
	// BuildPath is the fixed directory the package is built in.
	BuildPath string
	DSC       string
}

// SbuildArgs returns the sbuild command line (sbuild(1), 0.85) for o:
// unshare chroot mode on the given tarball, apt resolver, no lintian,
// piuparts or autopkgtest (packyard runs its own checks), and the build
// options. The .dsc comes last.
func SbuildArgs(o SbuildOptions) []string {
	args := []string{"sbuild",
		"--chroot-mode=unshare",
		"--chroot=" + o.Tarball,
		"--dist=" + o.Codename,
		"--arch=" + o.Architecture,
		"--build-dep-resolver=apt",
		"--no-run-lintian", "--no-run-piuparts", "--no-run-autopkgtest",
		"--no-apt-upgrade", "--no-apt-distupgrade",
	}
	if o.NoArchAll {
		args = append(args, "--no-arch-all")
	} else {
		args = append(args, "--arch-all")
	}
	if o.Source {
		args = append(args, "--source")
	} else {
		args = append(args, "--no-source")
	}
	if len(o.Profiles) > 0 {
		p := append([]string(nil), o.Profiles...)
		sort.Strings(p)
		args = append(args, "--profiles="+strings.Join(p, ","))
	}
	for _, d := range o.AddDepends {
		args = append(args, "--add-depends="+d)
	}
	for _, r := range o.ExtraRepositories {
		args = append(args, "--extra-repository="+r)
	}
	for _, k := range o.ExtraRepositoryKeys {
		args = append(args, "--extra-repository-key="+k)
	}
	if o.PinOrigin != "" {
		args = append(args, "--chroot-setup-commands="+PinCommand(o.PinOrigin))
	}
	if o.BuildPath != "" {
		args = append(args, "--build-path="+o.BuildPath)
	}
	return append(args, o.DSC)
}

// PinCommand is the shell command that pins origin highest inside the
// chroot (apt_preferences(5); 1001 also wins over installed versions).
func PinCommand(origin string) string {
	return fmt.Sprintf(`printf 'Package: *\nPin: origin %s\nPin-Priority: 1001\n' > /etc/apt/preferences.d/packyard`, origin)
}

var sbuildStatus = regexp.MustCompile(`(?m)^Status: (\S+)\s*$`)

// SbuildStatus returns the value of the last "Status:" line of an sbuild
// log's summary ("successful", "failed", "attempted", "given-back",
// "skipped"), or "" when there is none.
func SbuildStatus(log string) string {
	m := sbuildStatus.FindAllStringSubmatch(log, -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}

// RewriteFileRepository turns an apt source line naming a file: repository
// into one naming base (an HTTP URL serving that directory). Its signed-by
// option is dropped (inside sbuild's chroot host paths do not exist; the
// keys go in with --extra-repository-key); other options stay. It returns
// the line, the local directory, and whether it was a file: line.
func RewriteFileRepository(line, base string) (string, string, bool) {
	f := strings.Fields(line)
	if len(f) < 3 {
		return line, "", false
	}
	i := 1
	var opts []string
	if strings.HasPrefix(f[i], "[") {
		for ; i < len(f); i++ {
			o := strings.TrimSuffix(strings.TrimPrefix(f[i], "["), "]")
			if o != "" && !strings.HasPrefix(o, "signed-by=") {
				opts = append(opts, o)
			}
			if strings.HasSuffix(f[i], "]") {
				break
			}
		}
		i++
	}
	if i >= len(f) || !strings.HasPrefix(f[i], "file:") {
		return line, "", false
	}
	dir := strings.TrimPrefix(f[i], "file:")
	out := []string{f[0]}
	if len(opts) > 0 {
		out = append(out, "["+strings.Join(opts, " ")+"]")
	}
	out = append(append(out, base), f[i+1:]...)
	return strings.Join(out, " "), dir, true
}

// SignedBy returns the signed-by keyring paths named in an apt source line.
func SignedBy(line string) []string {
	var out []string
	for _, f := range strings.Fields(strings.NewReplacer("[", " ", "]", " ").Replace(line)) {
		if v, ok := strings.CutPrefix(f, "signed-by="); ok {
			out = append(out, strings.Split(v, ",")...)
		}
	}
	return out
}

// NextSubordinateRange returns the first range of count ids at or above
// min that overlaps none in an /etc/subuid or /etc/subgid file
// (subuid(5): "name:start:count" lines).
func NextSubordinateRange(file string, min, count int) int {
	type span struct{ start, end int }
	var used []span
	for _, line := range strings.Split(file, "\n") {
		p := strings.Split(strings.TrimSpace(line), ":")
		if len(p) != 3 {
			continue
		}
		s, err1 := strconv.Atoi(p[1])
		n, err2 := strconv.Atoi(p[2])
		if err1 == nil && err2 == nil && n > 0 {
			used = append(used, span{s, s + n})
		}
	}
	sort.Slice(used, func(i, j int) bool { return used[i].start < used[j].start })
	start := min
	for _, u := range used {
		if start+count <= u.start {
			break
		}
		if u.end > start {
			start = u.end
		}
	}
	return start
}

// HasSubordinateRange reports whether name has an entry in a subuid or
// subgid file.
func HasSubordinateRange(file, name string) bool {
	for _, line := range strings.Split(file, "\n") {
		if p := strings.Split(strings.TrimSpace(line), ":"); len(p) == 3 && p[0] == name {
			return true
		}
	}
	return false
}

// loopbackOrigin returns the host of an http URL (for PinOrigin).
func loopbackOrigin(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// SbuildEnvironment returns the whole environment sbuild (and
// dpkg-source) runs with as user name: HOME is home, a directory of
// packyard's with no .sbuildrc, so the user's own sbuild settings stay
// out; DEB_BUILD_OPTIONS is set when debBuildOptions is not empty.
func SbuildEnvironment(name, home, debBuildOptions string) []string {
	environ := []string{"HOME=" + home, "USER=" + name, "LOGNAME=" + name, "PATH=" + sessionPath, "LANG=C.UTF-8"}
	if debBuildOptions != "" {
		environ = append(environ, "DEB_BUILD_OPTIONS="+debBuildOptions)
	}
	return environ
}
