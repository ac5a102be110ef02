package env

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSubordinateCount(t *testing.T) {
	data := []byte("other:100000:65536\nbuilder:200000:65536\nbuilder:300000:10\n1005:400000:70000\nbroken:1:x\n")
	tests := []struct {
		name, id string
		want     int
	}{
		{"builder", "1004", 65536}, // the first range counts, as for unshare --map-auto
		{"someone", "1005", 70000}, // numeric entries match the uid
		{"missing", "1006", 0},
		{"broken", "1007", 0},
	}
	for _, tt := range tests {
		if got := SubordinateCount(data, tt.name, tt.id); got != tt.want {
			t.Errorf("SubordinateCount(%q, %q) = %d; want %d", tt.name, tt.id, got, tt.want)
		}
	}
}

func TestRootlessArgs(t *testing.T) {
	lowers := []string{"/w/layers/h/root", "/w/envs/e/root"}
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"userns", UserNSArgs("rm", "-rf", "--", "/w/x"),
			[]string{"unshare", "--map-auto", "--map-root-user", "--", "rm", "-rf", "--", "/w/x"}},
		{"nsenter", NsenterArgs(42, false, "bwrap", "--"),
			[]string{"nsenter", "--target", "42", "--user", "--mount", "--", "bwrap", "--"}},
		{"nsenter pid", NsenterArgs(42, true, "true"),
			[]string{"nsenter", "--target", "42", "--user", "--mount", "--pid", "--", "true"}},
		{"holder", HolderArgs("auto", lowers, "/s/upper", "/s/work", "/s/merged"),
			[]string{"unshare", "--map-auto", "--map-root-user", "--mount", "--propagation", "private",
				"--pid", "--fork", "--kill-child", "--", "sh", "-c", holderScript, "packyard-session", "auto",
				"lowerdir=/w/layers/h/root:/w/envs/e/root,upperdir=/s/upper,workdir=/s/work,userxattr",
				"lowerdir=/w/layers/h/root:/w/envs/e/root,upperdir=/s/upper,workdir=/s/work",
				"/s/merged"}},
		{"mount", MountArgs(7, "fuse", lowers[1:], "/s/upper", "/s/work", "/s/merged"),
			[]string{"nsenter", "--target", "7", "--user", "--mount", "--pid", "--", "sh", "-c", mountScript, "packyard-mount", "fuse",
				"lowerdir=/w/envs/e/root,upperdir=/s/upper,workdir=/s/work,userxattr",
				"lowerdir=/w/envs/e/root,upperdir=/s/upper,workdir=/s/work", "/s/merged"}},
		{"unmount", UnmountArgs(7, "/s/merged"),
			[]string{"nsenter", "--target", "7", "--user", "--mount", "--", "umount", "/s/merged"}},
		{"fusermount", FusermountArgs("/s/merged"), []string{"fusermount3", "-u", "-z", "--", "/s/merged"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("arguments mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHolderScriptWaitsForStdin(t *testing.T) {
	// The holder must end when its stdin closes (packyard gone or the
	// session closed), and print the driver before waiting.
	if !strings.HasSuffix(holderScript, "read -r _ || true\n") || !strings.HasPrefix(holderScript, "set -e\n") {
		t.Errorf("holderScript = %q; want set -e, the mount, then a read of stdin", holderScript)
	}
	for _, d := range []string{"echo kernel", "echo fuse"} {
		if !strings.Contains(overlayMountScript, d) {
			t.Errorf("overlayMountScript lacks %q", d)
		}
	}
}

func TestMmdebstrapArgsUnshareMode(t *testing.T) {
	spec := CreateSpec{Codename: "bookworm", Architecture: "amd64", Sources: SourcesFor("bookworm", "amd64", testArchives), Target: "/w/root", Mode: "unshare"}
	got := MmdebstrapArgs(spec)
	if got[2] != "--mode=unshare" {
		t.Errorf("MmdebstrapArgs(Mode unshare)[2] = %q; want --mode=unshare", got[2])
	}
	spec.Mode = ""
	if got := MmdebstrapArgs(spec); got[2] != "--mode=root" {
		t.Errorf("MmdebstrapArgs(no Mode)[2] = %q; want --mode=root", got[2])
	}
}

func TestLineWriter(t *testing.T) {
	l := &lineWriter{line: make(chan string, 1)}
	for _, p := range []string{"ker", "nel\nmore\n", "again\n"} {
		if n, err := l.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", p, n, err, len(p))
		}
	}
	if got := <-l.line; got != "kernel" {
		t.Errorf("first line = %q; want %q", got, "kernel")
	}
}

func TestRootlessErrors(t *testing.T) {
	for _, err := range []error{&SubIDError{User: "u", File: "/etc/subuid"}, &FuseDeviceError{Err: errors.New("permission denied")}} {
		if !errors.Is(err, ErrRootlessSetup) {
			t.Errorf("errors.Is(%T, ErrRootlessSetup) = false; want true", err)
		}
	}
	msg := (&SubIDError{User: "u", File: "/etc/subuid", Count: 10}).Error()
	for _, want := range []string{"/etc/subuid", "usermod --add-subuids", " u "} {
		if !strings.Contains(msg, want) {
			t.Errorf("SubIDError = %q; want it to contain %q", msg, want)
		}
	}
}
