package run

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRunSuccessAndFailure(t *testing.T) {
	r := New(nil)
	var log bytes.Buffer
	if err := r.Run(context.Background(), Cmd{Args: []string{"sh", "-c", "echo hi"}, Log: &log}); err != nil {
		t.Fatalf("Run(echo) = %v; want nil", err)
	}
	if got := log.String(); got != "hi\n" {
		t.Errorf("log = %q; want %q", got, "hi\n")
	}
	err := r.Run(context.Background(), Cmd{Args: []string{"sh", "-c", "echo boom >&2; exit 3"}})
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("Run(exit 3) = %v; want *Error", err)
	}
	if re.ExitCode != 3 {
		t.Errorf("ExitCode = %d; want 3", re.ExitCode)
	}
	if !strings.Contains(re.Tail, "boom") {
		t.Errorf("Tail = %q; want it to contain boom", re.Tail)
	}
}

func TestRunNotFound(t *testing.T) {
	err := New(nil).Run(context.Background(), Cmd{Args: []string{"mmdebstrap-does-not-exist"}})
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("Run(missing) = %v; want *NotFoundError", err)
	}
	if err := Require("sh"); err != nil {
		t.Errorf("Require(sh) = %v; want nil", err)
	}
	err = Require("bwrap-missing-xyz")
	if !errors.As(err, &nf) || nf.Program != "bwrap-missing-xyz" {
		t.Errorf("Require(missing) = %v; want *NotFoundError naming it", err)
	}
}

func TestPackageFor(t *testing.T) {
	tests := []struct{ prog, want string }{
		{"bwrap", "bubblewrap"},
		{"dpkg-source", "dpkg-dev"},
		{"nonesuch", ""},
	}
	for _, tt := range tests {
		if got := PackageFor(tt.prog); got != tt.want {
			t.Errorf("PackageFor(%q) = %q; want %q", tt.prog, got, tt.want)
		}
	}
}
