package env

import "testing"

func TestParseStatStartTime(t *testing.T) {
	tests := []struct {
		stat string
		want uint64
		ok   bool
	}{
		{"1234 (bwrap) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100 18446744073709551615", 987654, true},
		{"77 (a) b) (c) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 1 1", 42, true},
		{"garbage", 0, false},
		{"1 (x) S 1 2", 0, false},
	}
	for _, tt := range tests {
		got, err := parseStatStartTime(tt.stat)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseStatStartTime(%q) = %d, %v; want %d, ok=%v", tt.stat, got, err, tt.want, tt.ok)
		}
	}
}

func TestUnescapeMountPath(t *testing.T) {
	if got := unescapeMountPath(`/a\040b/c\011d`); got != "/a b/c\td" {
		t.Errorf("unescapeMountPath = %q; want %q", got, "/a b/c\td")
	}
}
