package plan

import (
	"strings"
	"sync"
)

// cpus and tuples follow dpkg's /usr/share/dpkg/cputable and tupletable
// (dpkg 1.21): an architecture name maps to an (abi, libc, os, cpu) tuple.
var cpus = strings.Fields(`alpha amd64 arc armeb arm arm64 avr32 hppa loong64 i386 ia64 m32r m68k mips mipsel
mipsr6 mipsr6el mips64 mips64el mips64r6 mips64r6el nios2 or1k powerpc powerpcel ppc64 ppc64el riscv64
s390 s390x sh3 sh3eb sh4 sh4eb sparc sparc64 tilegx`)

const tupleTable = `eabi-uclibc-linux-arm uclibc-linux-armel
base-uclibc-linux-<cpu> uclibc-linux-<cpu>
eabihf-musl-linux-arm musl-linux-armhf
base-musl-linux-<cpu> musl-linux-<cpu>
ilp32-gnu-linux-arm64 arm64ilp32
eabihf-gnu-linux-arm armhf
eabi-gnu-linux-arm armel
abin32-gnu-linux-mips64r6el mipsn32r6el
abin32-gnu-linux-mips64r6 mipsn32r6
abin32-gnu-linux-mips64el mipsn32el
abin32-gnu-linux-mips64 mipsn32
abi64-gnu-linux-mips64r6el mips64r6el
abi64-gnu-linux-mips64r6 mips64r6
abi64-gnu-linux-mips64el mips64el
abi64-gnu-linux-mips64 mips64
spe-gnu-linux-powerpc powerpcspe
x32-gnu-linux-amd64 x32
base-gnu-linux-<cpu> <cpu>
eabihf-gnu-kfreebsd-arm kfreebsd-armhf
base-gnu-kfreebsd-<cpu> kfreebsd-<cpu>
base-gnu-knetbsd-<cpu> knetbsd-<cpu>
base-gnu-kopensolaris-<cpu> kopensolaris-<cpu>
base-gnu-hurd-<cpu> hurd-<cpu>
base-bsd-dragonflybsd-<cpu> dragonflybsd-<cpu>
base-bsd-freebsd-<cpu> freebsd-<cpu>
base-bsd-openbsd-<cpu> openbsd-<cpu>
base-bsd-netbsd-<cpu> netbsd-<cpu>
base-bsd-darwin-<cpu> darwin-<cpu>
base-sysv-aix-<cpu> aix-<cpu>
base-sysv-solaris-<cpu> solaris-<cpu>
eabi-uclibc-uclinux-arm uclinux-armel
base-uclibc-uclinux-<cpu> uclinux-<cpu>
base-tos-mint-m68k mint-m68k
base-gnu-linux-<cpu> linux-<cpu>`

type archTuple [4]string

// archTuples maps every concrete Debian architecture name to its tuple.
var archTuples = sync.OnceValue(func() map[string]archTuple {
	m := map[string]archTuple{}
	put := func(tuple, name string) {
		var t archTuple
		copy(t[:], strings.SplitN(tuple, "-", 4))
		if _, ok := m[name]; !ok {
			m[name] = t
		}
	}
	for _, line := range strings.Split(tupleTable, "\n") {
		f := strings.Fields(line)
		if !strings.Contains(f[0], "<cpu>") {
			put(f[0], f[1])
			continue
		}
		for _, cpu := range cpus {
			put(strings.ReplaceAll(f[0], "<cpu>", cpu), strings.ReplaceAll(f[1], "<cpu>", cpu))
		}
	}
	return m
})

// ArchMatches reports whether the architecture name or wildcard alias (as
// written in an Architecture field or a [...] restriction: "amd64",
// "linux-any", "any-amd64", "any", "all") matches the concrete architecture
// real, as dpkg's debarch_is does. Unknown names never match. "all" matches
// every architecture, as in dose3.
func ArchMatches(alias, real string) bool {
	if alias == real || alias == "any" || alias == "all" {
		return true
	}
	rt, ok := archTuples()[real]
	if !ok {
		return false
	}
	var at archTuple
	parts := strings.Split(alias, "-")
	hasAny := false
	for _, p := range parts {
		if p == "any" {
			hasAny = true
		}
	}
	if hasAny {
		switch len(parts) {
		case 4:
			copy(at[:], parts)
		case 3:
			at = archTuple{"any", parts[0], parts[1], parts[2]}
		case 2:
			at = archTuple{"any", "any", parts[0], parts[1]}
		default:
			return false
		}
		// dose3 and dpkg only accept "any" in the first position of the
		// short forms (any-cpu, os-any, libc-os-any, ...); the general
		// comparison below is equivalent for the forms in the archive.
	} else {
		t, ok := archTuples()[alias]
		if !ok {
			return false
		}
		at = t
	}
	for i := range at {
		if at[i] != "any" && at[i] != rt[i] {
			return false
		}
	}
	return true
}

// archListMatches reports whether a source Architecture field (a list of
// names and wildcards) admits the concrete architecture.
func archListMatches(list []string, real string) bool {
	for _, a := range list {
		if ArchMatches(a, real) {
			return true
		}
	}
	return false
}
