package build

import (
	"slices"
	"testing"
)

func TestOfflineArgs(t *testing.T) {
	bd := AptBuildDepArgs(Request{}, "/build/hello-2.10")
	tests := []struct {
		name    string
		offline bool
		args    []string
		want    []string
	}{
		{"online unchanged", false, bd, bd},
		{"offline build-dep", true, bd, append([]string{"apt-get", "build-dep", "--no-download"}, bd[2:]...)},
		{"offline install", true, []string{"apt-get", "install", "x"}, []string{"apt-get", "install", "--no-download", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := offlineArgs(Request{Offline: tt.offline}, tt.args)
			if !slices.Equal(got, tt.want) {
				t.Errorf("offlineArgs(%v) = %v; want %v", tt.args, got, tt.want)
			}
		})
	}
}
