package env

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTarballArgs(t *testing.T) {
	tar := []string{"tar", "--numeric-owner", "--xattrs", "--one-file-system", "-C", "/w/envs/e/root", "-cf", "/w/cache/sbuild/e.tar.tmp", "."}
	tests := []struct {
		name     string
		rootless bool
		want     []string
	}{
		{"root", false, tar},
		{"rootless", true, append([]string{"unshare", "--map-auto", "--map-root-user", "--"}, tar...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, TarballArgs("/w/envs/e/root", "/w/cache/sbuild/e.tar.tmp", tt.rootless)); diff != "" {
				t.Errorf("TarballArgs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
