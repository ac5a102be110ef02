package archive

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/packyard/packyard/internal/deb822"
)

// VerifyLocalDSC checks a .dsc given on the command line: every file its
// Checksums-Sha256 field lists (Debian Policy §5.6.24) must sit beside it
// with that size and SHA256. It returns the source as a SourceRef with the
// .dsc first in Files. A wrong file gives *HashMismatchError (Source
// ".dsc"); a missing file or a malformed .dsc a plain error naming it.
// The uploader's signature, if any, is not checked: the user vouches for a
// local file.
func VerifyLocalDSC(path string) (*SourceRef, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading .dsc: %w", err)
	}
	if block, _ := clearsign.Decode(data); block != nil {
		data = block.Plaintext
	}
	name := filepath.Base(path)
	p, err := deb822.ParseFirst(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", name, err)
	}
	if p.Get("Source") == "" || p.Get("Version") == "" {
		return nil, fmt.Errorf("%s: not a .dsc: no Source or Version field", name)
	}
	listed, err := parseChecksums(p.Get("Checksums-Sha256"))
	if err != nil {
		return nil, fmt.Errorf("%s: Checksums-Sha256: %w", name, err)
	}
	if len(listed) == 0 {
		return nil, fmt.Errorf("%s lists no files in Checksums-Sha256", name)
	}
	dir := filepath.Dir(path)
	for _, f := range listed {
		if err := safeFileName(f.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		fp := filepath.Join(dir, f.Name)
		fi, err := os.Stat(fp)
		if err != nil {
			return nil, fmt.Errorf("%s lists %s, which is missing beside it: %w", name, f.Name, err)
		}
		if fi.Size() != f.Size {
			return nil, &HashMismatchError{File: fp, What: "size", Want: strconv.FormatInt(f.Size, 10), Got: strconv.FormatInt(fi.Size(), 10), Source: ".dsc"}
		}
		got, err := fileSHA256(fp)
		if err != nil {
			return nil, err
		}
		if got != f.SHA256 {
			return nil, &HashMismatchError{File: fp, What: "SHA256", Want: f.SHA256, Got: got, Source: ".dsc"}
		}
	}
	ref := &SourceRef{Package: p.Get("Source"), Version: p.Get("Version"), Paragraph: p}
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading .dsc: %w", err)
	}
	ref.Files = append([]FileRef{{Name: name, Size: fi.Size(), SHA256: sum}}, listed...)
	return ref, nil
}

// RepositoryDSC returns the .dsc of a Sources stanza of a repository rooted
// at root (packyard's own): <root>/<Directory>/<name>.dsc, after checking
// Directory and the file names are safe, the .dsc's size and SHA256 against
// the stanza's Checksums-Sha256, and the other files against the .dsc
// (VerifyLocalDSC). Errors: *HashMismatchError (Source "Sources") for a
// .dsc that differs from the index, else plain errors naming the file.
func RepositoryDSC(root string, stanza deb822.Paragraph) (string, error) {
	dir := stanza.Get("Directory")
	if err := safeDirectory(dir); err != nil {
		return "", err
	}
	files, err := parseChecksums(stanza.Get("Checksums-Sha256"))
	if err != nil {
		return "", fmt.Errorf("source %s: Checksums-Sha256: %w", stanza.Get("Package"), err)
	}
	for _, f := range files {
		if filepath.Ext(f.Name) != ".dsc" {
			continue
		}
		p := filepath.Join(root, dir, f.Name)
		if !fileMatches(p, f) {
			got, _ := fileSHA256(p)
			return "", &HashMismatchError{File: p, What: "SHA256", Want: f.SHA256, Got: got, Source: "Sources"}
		}
		if _, err := VerifyLocalDSC(p); err != nil {
			return "", err
		}
		return p, nil
	}
	return "", fmt.Errorf("source %s %s: its Sources stanza lists no .dsc", stanza.Get("Package"), stanza.Get("Version"))
}
