package archive

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrSourceNotFound is wrapped by *NotFoundError.
var ErrSourceNotFound = errors.New("source package not found")

// ErrOffline is wrapped by a *FetchError when offline mode refused a request.
var ErrOffline = errors.New("network access refused in offline mode")

// ErrNotRefreshed means the pantry has no index for a configured suite.
var ErrNotRefreshed = errors.New("pantry has no indexes")

// NotFoundError says a source package is in none of the configured suites.
type NotFoundError struct {
	Name string
	// Searched lists "<archive>/<suite>/<component>" indexes that were read.
	Searched []string
	// BuiltBy lists source packages that build a binary package of that
	// name: the user probably meant one of them.
	BuiltBy []string
}

func (e *NotFoundError) Error() string {
	if len(e.BuiltBy) > 0 {
		return fmt.Sprintf("source package %q not found: %q is a binary package built by source package %s (build that instead)",
			e.Name, e.Name, strings.Join(e.BuiltBy, ", "))
	}
	if len(e.Searched) == 0 {
		return fmt.Sprintf("source package %q not found: the pantry has no Sources indexes (run packyard refresh)", e.Name)
	}
	return fmt.Sprintf("source package %q not found in %d Sources indexes (check the name: it must be a source package, not a binary one; or run packyard refresh)", e.Name, len(e.Searched))
}

func (e *NotFoundError) Unwrap() error { return ErrSourceNotFound }

// HashMismatchError says a downloaded or cached file does not match the
// size or SHA256 that the signed chain gives for it.
type HashMismatchError struct {
	File string
	// What names the expectation: "SHA256" or "size".
	What      string
	Want, Got string
	// Source names where the expected value came from ("InRelease", "Sources", ".dsc").
	Source string
}

func (e *HashMismatchError) Error() string {
	return fmt.Sprintf("%s: %s mismatch against %s: want %s, got %s (the mirror may be mid-sync or the file corrupt; run packyard refresh and retry)",
		e.File, e.What, e.Source, e.Want, e.Got)
}

// FetchError is a failed download: the URL, the HTTP status (0 for a
// network error) or the underlying error, and a hint.
type FetchError struct {
	URL    string
	Status int
	Err    error
}

func (e *FetchError) Error() string {
	switch {
	case errors.Is(e.Err, ErrOffline):
		return fmt.Sprintf("fetching %s: %v (run packyard refresh or prime while online)", e.URL, e.Err)
	case e.Status == http.StatusNotFound:
		return fmt.Sprintf("fetching %s: HTTP %d %s (the mirror no longer has it: run packyard refresh to update the indexes)",
			e.URL, e.Status, http.StatusText(e.Status))
	case e.Status != 0:
		return fmt.Sprintf("fetching %s: HTTP %d %s (check the mirror URI in the config, or retry later)",
			e.URL, e.Status, http.StatusText(e.Status))
	default:
		return fmt.Sprintf("fetching %s: %v (check the network and the proxy variables http_proxy/https_proxy, or work with --offline)", e.URL, e.Err)
	}
}

func (e *FetchError) Unwrap() error { return e.Err }
