package cli

import (
	"errors"
	"fmt"
)

// Exit codes are a documented contract; README.md has the same table.
const (
	ExitOK          = 0  // success
	ExitInternal    = 1  // unexpected internal error
	ExitUsage       = 2  // bad command line or config
	ExitMissing     = 3  // pantry index missing (refresh --offline)
	ExitCorrupt     = 4  // hash mismatch, bad signature, corrupt data
	ExitUnsatisfied = 5  // unsatisfiable dependency or missing offline piece
	ExitCycle       = 6  // dependency cycle
	ExitHostTool    = 7  // a required host tool is not installed
	ExitFetch       = 8  // download failed (network, HTTP status)
	ExitNotFound    = 9  // source package not found
	ExitBuild       = 10 // the build failed
	ExitPublish     = 11 // publishing to the repository failed
	ExitRefused     = 12 // the repository refused the change (version rule, installability)
)

// exitError carries an explicit exit code and a hint for the user.
type exitError struct {
	code int
	err  error
	hint string
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that it exits with code, printing hint after it.
func withCode(code int, err error, hint string) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err, hint: hint}
}

func usageError(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// exitCode maps an error to the exit-code contract. Domain errors are mapped
// in classify (classify.go), the one place that knows every package's types.
func exitCode(err error) (int, string) {
	if err == nil {
		return ExitOK, ""
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code, ee.hint
	}
	return classify(err)
}
