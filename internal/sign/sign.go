package sign

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/google/renameio/v2"
)

// ErrBadSignature is wrapped by every verification failure.
var ErrBadSignature = errors.New("bad signature")

// Key is a repository signing key with its secret part.
type Key struct {
	entity *openpgp.Entity
}

func config() *packet.Config {
	return &packet.Config{
		Algorithm:   packet.PubKeyAlgoEdDSA,
		Curve:       packet.Curve25519,
		DefaultHash: crypto.SHA512,
		V6Keys:      false,
		Time:        func() time.Time { return time.Now() },
	}
}

// Generate creates a new v4 Ed25519 signing key with user id "name <email>".
func Generate(name, email string) (*Key, error) {
	e, err := openpgp.NewEntity(name, "", email, config())
	if err != nil {
		return nil, fmt.Errorf("generating signing key: %w", err)
	}
	return &Key{entity: e}, nil
}

// LoadKey reads an armored secret key written by SaveSecret.
func LoadKey(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening signing key: %w", err)
	}
	defer f.Close()
	el, err := openpgp.ReadArmoredKeyRing(f)
	if err != nil {
		return nil, fmt.Errorf("reading signing key %s: %w", path, err)
	}
	if len(el) != 1 || el[0].PrivateKey == nil {
		return nil, fmt.Errorf("reading signing key %s: want exactly one secret key, found %d keys", path, len(el))
	}
	if el[0].PrivateKey.Encrypted {
		return nil, fmt.Errorf("signing key %s is passphrase-protected; packyard needs an unprotected key", path)
	}
	return &Key{entity: el[0]}, nil
}

// SaveSecret writes the armored secret key to path (mode 0600) atomically.
// It refuses to overwrite an existing file.
func (k *Key) SaveSecret(path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("writing signing key: %s already exists", path)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		return fmt.Errorf("encoding signing key: %w", err)
	}
	if err := k.entity.SerializePrivate(w, config()); err != nil {
		return fmt.Errorf("encoding signing key: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("encoding signing key: %w", err)
	}
	buf.WriteByte('\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating key directory: %w", err)
	}
	if err := renameio.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("writing signing key: %w", err)
	}
	return nil
}

// PublicBinary returns the public key as a binary keyring, the form apt's
// signed-by option and gpgv --keyring take.
func (k *Key) PublicBinary() ([]byte, error) {
	var buf bytes.Buffer
	if err := k.entity.Serialize(&buf); err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	return buf.Bytes(), nil
}

// PublicArmored returns the ASCII-armored public key (with CRC line).
func (k *Key) PublicArmored() ([]byte, error) {
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	if err := k.entity.Serialize(w); err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// Fingerprint returns the primary key fingerprint as 40 upper-case hex digits.
func (k *Key) Fingerprint() string {
	return strings.ToUpper(fmt.Sprintf("%x", k.entity.PrimaryKey.Fingerprint))
}

// UserID returns the key's first user id ("name <email>").
func (k *Key) UserID() string {
	for name := range k.entity.Identities {
		return name
	}
	return ""
}

// DetachSign returns an armored detached binary signature of data, the
// Release.gpg form.
func (k *Key) DetachSign(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&buf, k.entity, bytes.NewReader(data), config()); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

const sigBegin = "\n-----BEGIN PGP SIGNATURE-----"

// ClearSign returns data clearsigned (RFC 4880 section 7), the InRelease form,
// with the armor checksum line that gpgv 2.2 requires.
func (k *Key) ClearSign(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := clearsign.Encode(&buf, k.entity.PrivateKey, config())
	if err != nil {
		return nil, fmt.Errorf("clearsigning: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return nil, fmt.Errorf("clearsigning: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("clearsigning: %w", err)
	}
	out := buf.Bytes()
	block, _ := clearsign.Decode(out)
	if block == nil {
		return nil, errors.New("clearsigning: cannot re-read own output")
	}
	raw := new(bytes.Buffer)
	if _, err := raw.ReadFrom(block.ArmoredSignature.Body); err != nil {
		return nil, fmt.Errorf("clearsigning: reading signature: %w", err)
	}
	i := bytes.LastIndex(out, []byte(sigBegin))
	if i < 0 {
		return nil, errors.New("clearsigning: no signature block in output")
	}
	var res bytes.Buffer
	res.Write(out[:i+1])
	aw, err := armor.Encode(&res, openpgp.SignatureType, nil)
	if err != nil {
		return nil, fmt.Errorf("clearsigning: %w", err)
	}
	if _, err := aw.Write(raw.Bytes()); err != nil {
		return nil, fmt.Errorf("clearsigning: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("clearsigning: %w", err)
	}
	res.WriteByte('\n')
	return res.Bytes(), nil
}

// ReadKeyring reads an OpenPGP keyring file, binary (.gpg) or armored (.asc).
func ReadKeyring(path string) (openpgp.EntityList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading keyring: %w", err)
	}
	return ParseKeyring(data)
}

// ParseKeyring parses keyring bytes, binary or armored (one or more blocks).
func ParseKeyring(data []byte) (openpgp.EntityList, error) {
	trimmed := bytes.TrimSpace(data)
	if bytes.HasPrefix(trimmed, []byte("-----BEGIN PGP")) {
		var all openpgp.EntityList
		rest := trimmed
		for len(rest) > 0 {
			end := bytes.Index(rest, []byte("-----END PGP PUBLIC KEY BLOCK-----"))
			if end < 0 {
				break
			}
			end += len("-----END PGP PUBLIC KEY BLOCK-----")
			el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(rest[:end]))
			if err != nil {
				return nil, fmt.Errorf("parsing armored keyring: %w", err)
			}
			all = append(all, el...)
			rest = bytes.TrimSpace(rest[end:])
		}
		if len(all) == 0 {
			return nil, errors.New("parsing armored keyring: no public key block")
		}
		return all, nil
	}
	el, err := openpgp.ReadKeyRing(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parsing keyring: %w", err)
	}
	return el, nil
}

// VerifyClearSigned checks a clearsigned message (an InRelease file) against
// keyring and returns the signed text and the signer's fingerprint.
// Failures wrap ErrBadSignature.
func VerifyClearSigned(keyring openpgp.EntityList, signed []byte) (plaintext []byte, signer string, err error) {
	block, _ := clearsign.Decode(signed)
	if block == nil {
		return nil, "", fmt.Errorf("%w: not a clearsigned message", ErrBadSignature)
	}
	ent, err := block.VerifySignature(keyring, nil)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return block.Plaintext, fingerprint(ent), nil
}

// VerifyDetached checks a detached signature (armored or binary) of data.
func VerifyDetached(keyring openpgp.EntityList, data, sig []byte) (signer string, err error) {
	var ent *openpgp.Entity
	if bytes.HasPrefix(bytes.TrimSpace(sig), []byte("-----BEGIN PGP")) {
		ent, err = openpgp.CheckArmoredDetachedSignature(keyring, bytes.NewReader(data), bytes.NewReader(sig), nil)
	} else {
		ent, err = openpgp.CheckDetachedSignature(keyring, bytes.NewReader(data), bytes.NewReader(sig), nil)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return fingerprint(ent), nil
}

func fingerprint(e *openpgp.Entity) string {
	if e == nil || e.PrimaryKey == nil {
		return ""
	}
	return strings.ToUpper(fmt.Sprintf("%x", e.PrimaryKey.Fingerprint))
}
