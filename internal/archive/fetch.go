package archive

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/packyard/packyard/internal/deb822"
)

// FetchSource downloads ref's .dsc and the files it lists from the mirror
// into destDir (created if needed) and returns the .dsc's path. It checks
// the chain: each file's size and SHA256 against the signed Sources stanza
// (ref.Files), then the .dsc's own Checksums-Sha256 and Source/Version
// against the files and ref. Files already in destDir with the right hash
// are reused. Downloads go to a staging directory inside destDir that is
// removed on failure, so destDir never holds a partial or unverified file.
// Errors: *FetchError, *HashMismatchError, or a .dsc that disagrees with
// its Sources stanza.
func (p *Pantry) FetchSource(ctx context.Context, ref *SourceRef, destDir string) (dscPath string, err error) {
	if err := safeDirectory(ref.Directory); err != nil {
		return "", err
	}
	dsc, ok := ref.DSC()
	if !ok {
		return "", fmt.Errorf("%s %s: no .dsc in the Sources stanza", ref.Package, ref.Version)
	}
	for _, f := range ref.Files {
		if err := safeFileName(f.Name); err != nil {
			return "", err
		}
	}
	if p.client.Offline() && !strings.HasPrefix(ref.URI, "file:") {
		// Name every missing file at once instead of failing on the first.
		if err := CheckSourceCached(ref, destDir); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(destDir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", destDir, err)
	}
	stage, err := os.MkdirTemp(destDir, ".fetch-")
	if err != nil {
		return "", fmt.Errorf("creating staging directory: %w", err)
	}
	defer os.RemoveAll(stage)
	base := strings.TrimRight(ref.URI, "/") + "/" + ref.Directory + "/"
	for _, f := range ref.Files {
		if err := p.fetchFile(ctx, base+f.Name, destDir, stage, f); err != nil {
			return "", err
		}
	}
	if err := checkDSC(filepath.Join(stage, dsc.Name), ref); err != nil {
		return "", err
	}
	return dscPath, moveInto(stage, destDir, ref.Files, &dscPath, dsc.Name)
}

// fetchFile puts a verified copy of f in stage: linked from destDir when
// already there with the right hash, else downloaded.
func (p *Pantry) fetchFile(ctx context.Context, url, destDir, stage string, f FileRef) error {
	dst := filepath.Join(stage, f.Name)
	if existing := filepath.Join(destDir, f.Name); fileMatches(existing, f) {
		if err := linkOrCopy(existing, dst); err == nil {
			return nil
		}
	}
	err := p.client.download(ctx, url, dst, f.Size, f.SHA256, "Sources", nil)
	if err != nil {
		return err
	}
	p.logger.Debug("fetched", "url", url, "size", f.Size)
	return nil
}

// fileMatches reports whether path exists with f's size and SHA256.
func fileMatches(path string, f FileRef) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != f.Size {
		return false
	}
	got, err := fileSHA256(path)
	return err == nil && got == f.SHA256
}

func fileSHA256(path string) (string, error) {
	in, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	h := sha256.New()
	if _, err := io.Copy(h, in); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// checkDSC parses the downloaded .dsc (clearsigned or not; the signature is
// the uploader's and the Sources hash already vouches for the bytes) and
// checks it names ref and lists exactly ref's other files with the same
// sizes and hashes.
func checkDSC(path string, ref *SourceRef) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading .dsc: %w", err)
	}
	if block, _ := clearsign.Decode(data); block != nil {
		data = block.Plaintext
	}
	p, err := deb822.ParseFirst(data)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", filepath.Base(path), err)
	}
	name := filepath.Base(path)
	if p.Get("Source") != ref.Package || p.Get("Version") != ref.Version {
		return fmt.Errorf("%s is %s %s, but Sources says %s %s", name, p.Get("Source"), p.Get("Version"), ref.Package, ref.Version)
	}
	listed, err := parseChecksums(p.Get("Checksums-Sha256"))
	if err != nil {
		return fmt.Errorf("%s: Checksums-Sha256: %w", name, err)
	}
	want := map[string]FileRef{}
	for _, f := range ref.Files {
		if f.Name != name {
			want[f.Name] = f
		}
	}
	if len(listed) != len(want) {
		return fmt.Errorf("%s lists %d files, Sources lists %d", name, len(listed), len(want))
	}
	for _, f := range listed {
		w, ok := want[f.Name]
		switch {
		case !ok:
			return fmt.Errorf("%s lists %s, which Sources does not", name, f.Name)
		case w.Size != f.Size:
			return &HashMismatchError{File: f.Name, What: "size", Want: strconv.FormatInt(f.Size, 10), Got: strconv.FormatInt(w.Size, 10), Source: ".dsc"}
		case w.SHA256 != f.SHA256:
			return &HashMismatchError{File: f.Name, What: "SHA256", Want: f.SHA256, Got: w.SHA256, Source: ".dsc"}
		}
	}
	return nil
}

// moveInto renames the verified files from stage into destDir, the .dsc
// last so that a .dsc in destDir always has its files beside it. On
// failure the files moved so far are removed again.
func moveInto(stage, destDir string, files []FileRef, dscPath *string, dscName string) error {
	var moved []string
	order := make([]string, 0, len(files))
	for _, f := range files {
		if f.Name != dscName {
			order = append(order, f.Name)
		}
	}
	order = append(order, dscName)
	for _, name := range order {
		dst := filepath.Join(destDir, name)
		if err := os.Rename(filepath.Join(stage, name), dst); err != nil {
			for _, m := range moved {
				os.Remove(m)
			}
			return fmt.Errorf("storing %s: %w", name, err)
		}
		moved = append(moved, dst)
	}
	*dscPath = filepath.Join(destDir, dscName)
	return nil
}
