// Package cli implements packyard's commands, one file per command. It parses
// flags, loads the config, opens a run record, calls the domain packages and
// maps their typed errors to the documented exit codes (see exit.go and the
// table in README.md). It holds no business logic.
package cli
