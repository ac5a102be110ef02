package repo

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Contents-<arch> indexes map each file path to the packages shipping it,
// "path   section/package[,section/package...]" sorted by path (Debian
// repository format, "Contents indices"). The file list of each .deb is
// kept beside its blob so that replacing a package removes its old paths.

// contentsLocation is the "section/package" of a Contents line.
func contentsLocation(section, pkg string) string {
	if section == "" {
		section = "unknown"
	}
	return section + "/" + pkg
}

// contentsLine renders one Contents record.
func contentsLine(path string, locs []string) []byte {
	pad := 60 - len(path)
	if pad < 1 {
		pad = 1
	}
	return []byte(path + strings.Repeat(" ", pad) + strings.Join(locs, ",") + "\n")
}

// contentsLocs returns the locations of a Contents record.
func contentsLocs(rec []byte) []string {
	line := strings.TrimRight(string(rec), "\n")
	i := strings.LastIndexAny(line, " \t")
	if i < 0 {
		return nil
	}
	return strings.Split(line[i+1:], ",")
}

// contentsEdit adds (or removes) loc on every path in the Contents index of
// comp and arch (Contents-udeb-<arch> for udebs).
func (x *txn) contentsEdit(comp, arch string, udeb bool, paths []string, loc string, add bool) error {
	if !x.r.contents || len(paths) == 0 {
		return nil
	}
	w := x.index(contentsSpec(comp, arch, udeb))
	for _, p := range paths {
		old, err := w.get(p)
		if err != nil {
			return err
		}
		locs := contentsLocs(old)
		j := sort.SearchStrings(locs, loc)
		has := j < len(locs) && locs[j] == loc
		switch {
		case add && !has:
			locs = append(locs, "")
			copy(locs[j+1:], locs[j:])
			locs[j] = loc
		case !add && has:
			locs = append(locs[:j], locs[j+1:]...)
		default:
			continue
		}
		if len(locs) == 0 {
			w.put(p, nil)
		} else {
			w.put(p, contentsLine(p, locs))
		}
	}
	return nil
}

func (p pool) contentsPath(sha256hex string) string {
	return filepath.Join(p.root, stateDir, "store", "contents", sha256hex[:2], sha256hex)
}

// saveContents records the file list of the blob sha256hex.
func (p pool) saveContents(sha256hex string, paths []string, ss *syncSet) error {
	dst := p.contentsPath(sha256hex)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	return writeFileFanout(dst, []byte(strings.Join(paths, "\n")), ss)
}

// contentsOf returns the recorded file list of a blob, or nil.
func (p pool) contentsOf(sha256hex string) []string {
	if len(sha256hex) < 2 {
		return nil
	}
	data, err := os.ReadFile(p.contentsPath(sha256hex))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return nil
	}
	if len(data) == 0 {
		return nil
	}
	return strings.Split(string(data), "\n")
}
