// Package run is the only package in packyard that starts external programs.
//
// Every call goes through a Runner: it uses exec.CommandContext, writes the
// program's full output to a log file chosen by the caller, summarizes each
// call to slog, and turns a failure into a *Error that carries the command,
// the exit code and the tail of stderr, so callers can report what went wrong
// without re-reading logs. Argument lists are built by pure functions in the
// packages that own each tool; this package only executes them.
package run
