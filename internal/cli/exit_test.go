package cli

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/build"
	"github.com/packyard/packyard/internal/env"
	"github.com/packyard/packyard/internal/repo"
	"github.com/packyard/packyard/internal/run"
	"github.com/packyard/packyard/internal/sign"
)

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"host tool", fmt.Errorf("x: %w", &run.NotFoundError{Program: "bwrap", Package: "bubblewrap"}), ExitHostTool},
		{"rootless setup", fmt.Errorf("x: %w", &env.SubIDError{User: "u", File: "/etc/subuid"}), ExitHostTool},
		{"not found", &archive.NotFoundError{Name: "x"}, ExitNotFound},
		{"hash", &archive.HashMismatchError{File: "a"}, ExitCorrupt},
		{"signature", fmt.Errorf("verify: %w", sign.ErrBadSignature), ExitCorrupt},
		{"fetch", &archive.FetchError{URL: "http://x", Status: 404}, ExitFetch},
		{"build", &build.Error{Err: fmt.Errorf("dpkg-buildpackage failed")}, ExitBuild},
		{"tree", &build.SourceTreeError{Path: "/x", Reason: "no debian/"}, ExitUsage},
		{"publish", fmt.Errorf("x: %w", repo.ErrPublish), ExitPublish},
		{"pool conflict", fmt.Errorf("adding: %w", &repo.ConflictError{PoolPath: "pool/main/h/hello/hello_1_amd64.deb"}), ExitRefused},
		{"usage", usageError("bad"), ExitUsage},
		{"other", fmt.Errorf("whatever"), ExitInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := exitCode(tt.err); got != tt.want {
				t.Errorf("exitCode(%v) = %d; want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestExecuteMissingConfig(t *testing.T) {
	var out, errb bytes.Buffer
	code := Execute(context.Background(), []string{"--config", filepath.Join(t.TempDir(), "none.yaml"), "refresh"}, &out, &errb)
	if code != ExitUsage {
		t.Errorf("Execute(refresh without config) = %d; want %d (stderr %q)", code, ExitUsage, errb.String())
	}
	if !bytes.Contains(errb.Bytes(), []byte("packyard init")) {
		t.Errorf("stderr = %q; want a hint naming packyard init", errb.String())
	}
}

func TestExecuteUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"build"}, {"repo", "frobnicate"}, {"build", "--no-such-flag", "x"}, {"refresh", "extra-arg"}} {
		var out, errb bytes.Buffer
		if code := Execute(context.Background(), args, &out, &errb); code != ExitUsage {
			t.Errorf("Execute(%q) = %d; want %d (stderr %q)", args, code, ExitUsage, errb.String())
		}
	}
}
