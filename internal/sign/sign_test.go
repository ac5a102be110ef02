package sign

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const release = "Origin: packyard\nLabel: packyard\nSuite: bookworm-packyard-unstable\n-Dash: leading dash\nTrailing: space \n"

func newKey(t *testing.T) *Key {
	t.Helper()
	k, err := Generate("packyard test", "test@packyard.invalid")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestClearSignRoundTrip(t *testing.T) {
	k := newKey(t)
	signed, err := k.ClearSign([]byte(release))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(signed, []byte("Hash: SHA512")) {
		t.Errorf("InRelease lacks Hash: SHA512 header:\n%s", signed)
	}
	if !bytes.Contains(signed, []byte("\n=")) {
		t.Errorf("InRelease lacks the armor checksum line:\n%s", signed)
	}
	pub, err := k.PublicBinary()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := ParseKeyring(pub)
	if err != nil {
		t.Fatal(err)
	}
	text, signer, err := VerifyClearSigned(kr, signed)
	if err != nil {
		t.Fatalf("VerifyClearSigned = %v; want nil", err)
	}
	if signer != k.Fingerprint() {
		t.Errorf("signer = %s; want %s", signer, k.Fingerprint())
	}
	if !strings.Contains(string(text), "Origin: packyard") {
		t.Errorf("plaintext = %q; want the Release text", text)
	}
	tampered := bytes.Replace(signed, []byte("Label: packyard"), []byte("Label: evil"), 1)
	if _, _, err := VerifyClearSigned(kr, tampered); !errors.Is(err, ErrBadSignature) {
		t.Errorf("VerifyClearSigned(tampered) = %v; want ErrBadSignature", err)
	}
	other := newKey(t)
	opub, _ := other.PublicArmored()
	okr, err := ParseKeyring(opub)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := VerifyClearSigned(okr, signed); !errors.Is(err, ErrBadSignature) {
		t.Errorf("VerifyClearSigned(wrong key) = %v; want ErrBadSignature", err)
	}
}

func TestDetachSign(t *testing.T) {
	k := newKey(t)
	sig, err := k.DetachSign([]byte(release))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := k.PublicArmored()
	kr, err := ParseKeyring(pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyDetached(kr, []byte(release), sig); err != nil {
		t.Errorf("VerifyDetached = %v; want nil", err)
	}
	if _, err := VerifyDetached(kr, []byte(release+"x"), sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("VerifyDetached(changed) = %v; want ErrBadSignature", err)
	}
}

func TestSaveLoad(t *testing.T) {
	k := newKey(t)
	p := filepath.Join(t.TempDir(), "k", "secret.asc")
	if err := k.SaveSecret(p); err != nil {
		t.Fatal(err)
	}
	if err := k.SaveSecret(p); err == nil {
		t.Errorf("SaveSecret over existing file = nil; want error")
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret key mode = %v; want 0600", fi.Mode().Perm())
	}
	k2, err := LoadKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if k2.Fingerprint() != k.Fingerprint() {
		t.Errorf("loaded fingerprint %s; want %s", k2.Fingerprint(), k.Fingerprint())
	}
}

// TestOracles checks our signatures with gpgv (bookworm's apt) and sqv
// (trixie's apt), the verifiers apt really uses.
func TestOracles(t *testing.T) {
	k := newKey(t)
	dir := t.TempDir()
	pub, _ := k.PublicBinary()
	kr := filepath.Join(dir, "k.gpg")
	os.WriteFile(kr, pub, 0o644)
	inr, _ := k.ClearSign([]byte(release))
	os.WriteFile(filepath.Join(dir, "InRelease"), inr, 0o644)
	os.WriteFile(filepath.Join(dir, "Release"), []byte(release), 0o644)
	sig, _ := k.DetachSign([]byte(release))
	os.WriteFile(filepath.Join(dir, "Release.gpg"), sig, 0o644)
	for _, tc := range []struct {
		tool string
		args []string
	}{
		{"gpgv", []string{"--keyring", kr, filepath.Join(dir, "InRelease")}},
		{"gpgv", []string{"--keyring", kr, filepath.Join(dir, "Release.gpg"), filepath.Join(dir, "Release")}},
		{"sqv", []string{"--keyring", kr, filepath.Join(dir, "Release.gpg"), filepath.Join(dir, "Release")}},
	} {
		if _, err := exec.LookPath(tc.tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not installed in CI", tc.tool)
			}
			t.Skipf("%s not installed", tc.tool)
		}
		out, err := exec.Command(tc.tool, tc.args...).CombinedOutput()
		if err != nil {
			t.Errorf("%s %v: %v\n%s", tc.tool, tc.args, err, out)
		}
	}
}
