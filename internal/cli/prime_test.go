package cli

import "testing"

func TestPrimeCommand(t *testing.T) {
	tests := []struct {
		o    buildOptions
		args []string
		want string
	}{
		{buildOptions{}, []string{"hello", "cjson"}, "packyard prime hello cjson"},
		{buildOptions{arch: "i386", profiles: []string{"nocheck", "stage1"}, nocheck: true}, []string{"hello"},
			"packyard prime --arch=i386 --profiles=nocheck,stage1 --nocheck hello"},
		{buildOptions{noPlan: true}, []string{"/tmp/my dir/x.dsc"}, `packyard prime --no-plan "/tmp/my dir/x.dsc"`},
	}
	for _, tt := range tests {
		if got := primeCommand(&tt.o, tt.args); got != tt.want {
			t.Errorf("primeCommand(%+v, %q) = %q; want %q", tt.o, tt.args, got, tt.want)
		}
	}
}
