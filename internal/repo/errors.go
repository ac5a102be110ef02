package repo

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrPublish is wrapped by every failure to write or publish repository state.
var ErrPublish = errors.New("publish failed")

// ErrUnknownDistribution is wrapped when a distribution name is not in the config.
var ErrUnknownDistribution = errors.New("unknown distribution")

// ErrBadInput is wrapped by every rejection of an input file (missing,
// unparsable, unsafe name, checksum mismatch, pool conflict, version rule).
var ErrBadInput = errors.New("bad input")

// UnknownDistributionError names a distribution that is not configured.
type UnknownDistributionError struct {
	Name  string
	Known []string
}

func (e *UnknownDistributionError) Error() string {
	return fmt.Sprintf("unknown distribution %q (configured: %v)", e.Name, e.Known)
}

func (e *UnknownDistributionError) Unwrap() error { return ErrUnknownDistribution }

// FileError is an input file that is missing, unreadable or malformed.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }

// Unwrap returns both the cause and ErrBadInput.
func (e *FileError) Unwrap() []error { return []error{e.Err, ErrBadInput} }

// ChecksumError is a file whose size or checksum differs from what a .changes
// or .dsc lists for it.
type ChecksumError struct {
	Path      string
	Algorithm string // "Size", "MD5", "SHA1", "SHA256"
	Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: %s mismatch: listed %s, file has %s", e.Path, e.Algorithm, e.Want, e.Got)
}

func (e *ChecksumError) Unwrap() error { return ErrBadInput }

// UnsafeNameError is a file name listed in a .changes or .dsc that is not a
// plain file name (path separators, "..", leading dot or control characters).
type UnsafeNameError struct {
	In   string
	Name string
}

func (e *UnsafeNameError) Error() string {
	return fmt.Sprintf("%s: unsafe file name %q", e.In, e.Name)
}

func (e *UnsafeNameError) Unwrap() error { return ErrBadInput }

// ErrConflict is wrapped when an input would put different content under
// a pool name that already holds a file: a rebuild of a published version
// that is not bit-for-bit the same.
var ErrConflict = errors.New("pool conflict")

// ConflictError is a pool path that already holds different content: Debian
// archives never serve two different files under one name (apt would see a
// hash mismatch, and caches would keep the old file).
type ConflictError struct {
	PoolPath          string
	Existing, Offered string // SHA256
	// Package and Version name the package the file belongs to, when known.
	Package, Version string
	// Concurrent: another add, running at the same time, stored the
	// existing file after this add checked the pool.
	Concurrent bool
}

func (e *ConflictError) Error() string {
	what := "this file differs from the one"
	if e.Package != "" {
		what = fmt.Sprintf("this build of %s %s differs from the one", e.Package, e.Version)
	}
	if e.Concurrent {
		return fmt.Sprintf("%s: %s another add stored there while this one ran (sha256 %s, other %s); "+
			"nothing was published: when the other add is done, give this build a new version "+
			"(a binNMU such as %s+b1) or remove the other package first with 'packyard repo remove'",
			e.PoolPath, what, short(e.Offered), short(e.Existing), orDefault(e.Version, "<version>"))
	}
	return fmt.Sprintf("%s: %s already published (sha256 %s, published %s); "+
		"a published file never changes: give the rebuild a new version (a binNMU such as %s+b1) "+
		"or remove the package first with 'packyard repo remove'",
		e.PoolPath, what, short(e.Offered), short(e.Existing), orDefault(e.Version, "<version>"))
}

// Unwrap returns ErrConflict and ErrBadInput.
func (e *ConflictError) Unwrap() []error { return []error{ErrConflict, ErrBadInput} }

func short(sha string) string {
	if len(sha) > 16 {
		return sha[:16]
	}
	return sha
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// publishErr wraps err as a publish failure with context.
func publishErr(what string, err error) error {
	return fmt.Errorf("%s: %w: %w", what, ErrPublish, err)
}

// ErrVersion is wrapped when a version breaks a rule: lower than the one in
// the suite, or not matching the suite's version suffix.
var ErrVersion = errors.New("version refused")

// ErrNotFound is wrapped when a package, generation or snapshot is not there.
var ErrNotFound = errors.New("not found")

// ErrUninstallable is wrapped when a migration or copy would leave packages
// of the target suite uninstallable.
var ErrUninstallable = errors.New("would leave packages uninstallable")

// VersionError is a version refused for a distribution.
type VersionError struct {
	Package, Version, Distribution string
	Reason                         string
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("%s %s refused for %s: %s", e.Package, e.Version, e.Distribution, e.Reason)
}

func (e *VersionError) Unwrap() error { return ErrVersion }

// NotFoundError names what was looked for.
type NotFoundError struct {
	What, Name, Where string
}

func (e *NotFoundError) Error() string {
	if e.Where != "" {
		return fmt.Sprintf("%s %s not found in %s", e.What, e.Name, e.Where)
	}
	return fmt.Sprintf("%s %s not found", e.What, e.Name)
}

func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// UninstallableError is a refused migration: the packages that would become
// uninstallable in the target, each with the reason.
type UninstallableError struct {
	Distribution string
	Source       string
	Packages     map[string]string // "package/arch" -> reason
}

func (e *UninstallableError) Error() string {
	keys := make([]string, 0, len(e.Packages))
	for k := range e.Packages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "migrating %s would leave %d package(s) of %s uninstallable:", e.Source, len(keys), e.Distribution)
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %s: %s", k, e.Packages[k])
	}
	return b.String()
}

func (e *UninstallableError) Unwrap() error { return ErrUninstallable }
