package build

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// sessionPath is PATH inside a build session.
const sessionPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DpkgBuildpackageArgs returns the dpkg-buildpackage command line
// (dpkg-buildpackage(1)) for r: unsigned, fakeroot as the gain-root command
// (used only when Rules-Requires-Root asks for root), the build type from
// r.Source and r.NoArchAll, and the build profiles.
func DpkgBuildpackageArgs(r Request) []string {
	args := []string{"dpkg-buildpackage", "--no-sign", "--root-command=fakeroot"}
	switch {
	case r.Source && !r.NoArchAll:
		args = append(args, "--build=full")
	case r.Source:
		args = append(args, "--build=source,any")
	case !r.NoArchAll:
		args = append(args, "--build=binary")
	default:
		args = append(args, "--build=any")
	}
	if p := profiles(r); len(p) > 0 {
		args = append(args, "--build-profiles="+strings.Join(p, ","))
	}
	return args
}

// profiles returns r's build profiles, with nocheck added for NoCheck.
func profiles(r Request) []string {
	p := append([]string(nil), r.Profiles...)
	if r.NoCheck {
		p = append(p, "nocheck")
	}
	sort.Strings(p)
	out := p[:0]
	for i, s := range p {
		if s != "" && (i == 0 || s != p[i-1]) {
			out = append(out, s)
		}
	}
	return out
}

// DebBuildOptions returns DEB_BUILD_OPTIONS for r (Debian Policy §4.9.1),
// or "" when there are none.
func DebBuildOptions(r Request) string {
	var opts []string
	if r.NoCheck {
		opts = append(opts, "nocheck")
	}
	if r.Parallel > 0 {
		opts = append(opts, "parallel="+strconv.Itoa(r.Parallel))
	}
	return strings.Join(opts, " ")
}

// BuildEnvironment returns the complete environment of the build step:
// a fixed PATH, C.UTF-8 locale, UTC, a HOME that does not exist (as sbuild
// does), SOURCE_DATE_EPOCH from the changelog date, and the build options.
func BuildEnvironment(r Request, changelogDate time.Time) []string {
	env := append(UserEnvironment(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(changelogDate.Unix(), 10))
	if o := DebBuildOptions(r); o != "" {
		env = append(env, "DEB_BUILD_OPTIONS="+o)
	}
	if p := profiles(r); len(p) > 0 {
		env = append(env, "DEB_BUILD_PROFILES="+strings.Join(p, " "))
	}
	return env
}

// UserEnvironment is the environment of build-user steps other than the
// build itself (unpacking the source).
func UserEnvironment() []string {
	return []string{
		"PATH=" + sessionPath,
		"HOME=/nonexistent",
		"LANG=C.UTF-8",
		"LC_ALL=C.UTF-8",
		"TZ=UTC",
		"USER=packyard",
		"LOGNAME=packyard",
	}
}

// RootEnvironment is the environment of root steps (build-dependency
// installation): non-interactive apt and debconf.
func RootEnvironment() []string {
	return []string{
		"PATH=" + sessionPath,
		"HOME=/root",
		"LANG=C.UTF-8",
		"DEBIAN_FRONTEND=noninteractive",
		"DEBCONF_NONINTERACTIVE_SEEN=true",
	}
}

// AptBuildDepArgs returns the apt-get command that installs the
// build-dependencies of the source in dir (a path with debian/control,
// apt-get(8) build-dep): non-interactive, no recommends, arch-only when
// Architecture: all packages are not built, with r's build profiles.
func AptBuildDepArgs(r Request, dir string) []string {
	args := []string{"apt-get", "build-dep", "--yes", "--no-install-recommends",
		"-o", "Dpkg::Options::=--force-confnew", "-o", "APT::Keep-Downloaded-Packages=true"}
	if r.NoArchAll {
		args = append(args, "--arch-only")
	}
	if p := profiles(r); len(p) > 0 {
		args = append(args, "--build-profiles="+strings.Join(p, ","))
	}
	return append(args, dir)
}

// AptInstallArgs returns the apt-get command that installs pkgs.
func AptInstallArgs(pkgs []string) []string {
	args := []string{"apt-get", "install", "--yes", "--no-install-recommends",
		"-o", "Dpkg::Options::=--force-confnew", "-o", "APT::Keep-Downloaded-Packages=true"}
	return append(args, pkgs...)
}
