package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/packyard/packyard/internal/env"
)

// stage puts the source package (or tree) into the session's /build,
// owned by the build user. As root, upstream tarballs are shared read-only
// as hard links where possible (shareFile): they go in after the hand-over
// to the build user, when only root may still write to /build.
func (j *job) stage() error {
	bd := j.sess.BuildDir
	share := os.Geteuid() == 0
	var shared []string
	if j.req.DSC != "" {
		dsc, err := ReadDSC(j.req.DSC)
		if err != nil {
			return err
		}
		srcDir := filepath.Dir(j.req.DSC)
		for _, name := range append([]string{filepath.Base(j.req.DSC)}, dsc.Files...) {
			if share && isUpstreamTarball(name) {
				shared = append(shared, filepath.Join(srcDir, name))
				continue
			}
			if err := copyFile(filepath.Join(srcDir, name), filepath.Join(bd, name)); err != nil {
				return err
			}
		}
	} else {
		dst := filepath.Join(bd, filepath.FromSlash(strings.TrimPrefix(j.dir, "/build/")))
		if err := copyTree(j.req.SourceTree, dst); err != nil {
			return err
		}
		origs, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Clean(j.req.SourceTree)),
			j.source+"_"+UpstreamVersion(noEpoch(j.version))+".orig*"))
		for _, o := range origs {
			if share {
				shared = append(shared, o)
			} else if err := copyFile(o, filepath.Join(bd, filepath.Base(o))); err != nil {
				return err
			}
		}
	}
	if err := j.sess.HandOverBuildDir(); err != nil {
		return err
	}
	linked, err := shareFiles(shared, bd)
	if err != nil {
		return err
	}
	if len(shared) > 0 {
		fmt.Fprintf(j.log, "packyard: staged %d upstream tarball file(s), %d as hard links\n", len(shared), linked)
	}
	return nil
}

// unpack extracts the .dsc inside the session as the build user; dpkg-source
// checks every file against the .dsc's checksums.
func (j *job) unpack(ctx context.Context) error {
	if j.dsc == "" {
		return nil
	}
	args := []string{"dpkg-source", "--extract", j.dsc, j.dir}
	fmt.Fprintf(j.log, "packyard: %s\n", joinArgs(args))
	return j.run(ctx, env.Step{Name: "extract", Command: args, AsBuildUser: true, Dir: "/build",
		Env: UserEnvironment(), Log: j.log})
}

// extraRepositoryMounts writes the extra apt source lines (rewritten by
// SessionRepositories) to a file bound into the session's sources.list.d,
// and returns the mounts for it and for the local paths the lines name.
func extraRepositoryMounts(lines []string, buildDir string) ([]env.Mount, bool) {
	if len(lines) == 0 {
		return nil, false
	}
	inSession, mounts := SessionRepositories(lines)
	list := filepath.Join(filepath.Dir(buildDir), "extra.list")
	_ = os.WriteFile(list, []byte(strings.Join(inSession, "\n")+"\n"), 0o644)
	mounts = append([]env.Mount{{Source: list, Dest: "/etc/apt/sources.list.d/packyard-extra.list", ReadOnly: true}}, mounts...)
	return mounts, true
}

// SessionRepositories rewrites apt source lines for use inside a session:
// each local path they name (file: and copy: repositories, signed-by
// keyrings) is bound read-only at a neutral path apt's unprivileged _apt
// user can reach (keyrings under /etc/apt/keyrings, repositories under
// /srv/packyard), since the host paths may sit below directories such as
// /root that _apt cannot enter. It returns the rewritten lines and the
// mounts.
func SessionRepositories(lines []string) ([]string, []env.Mount) {
	var out []string
	var mounts []env.Mount
	seen := map[string]string{}
	bind := func(host, dest string) string {
		host = path.Clean(host)
		if d, ok := seen[host]; ok {
			return d
		}
		seen[host] = dest
		mounts = append(mounts, env.Mount{Source: host, Dest: dest, ReadOnly: true})
		return dest
	}
	for i, l := range lines {
		fields := strings.Fields(l)
		for k, f := range fields {
			trimmed := strings.TrimSuffix(strings.TrimPrefix(f, "["), "]")
			prefix, suffix := f[:strings.Index(f, trimmed)], f[strings.Index(f, trimmed)+len(trimmed):]
			switch {
			case strings.HasPrefix(trimmed, "signed-by=/"):
				var keys []string
				for n, key := range strings.Split(strings.TrimPrefix(trimmed, "signed-by="), ",") {
					keys = append(keys, bind(key, fmt.Sprintf("/etc/apt/keyrings/packyard-extra-%d-%d%s", i, n, path.Ext(key))))
				}
				fields[k] = prefix + "signed-by=" + strings.Join(keys, ",") + suffix
			case strings.HasPrefix(f, "file:/"), strings.HasPrefix(f, "copy:/"):
				scheme, p, _ := strings.Cut(f, ":")
				fields[k] = scheme + ":" + bind(p, fmt.Sprintf("/srv/packyard/extra-%d", i))
			}
		}
		out = append(out, strings.Join(fields, " "))
	}
	return out, mounts
}

// LocalPaths returns the host paths named by apt source lines: file: and
// copy: URIs and signed-by keyrings, sorted and without duplicates.
func LocalPaths(lines []string) []string {
	seen := map[string]bool{}
	for _, l := range lines {
		for _, f := range strings.Fields(strings.NewReplacer("[", " ", "]", " ").Replace(l)) {
			var p string
			switch {
			case strings.HasPrefix(f, "signed-by="):
				p = strings.TrimPrefix(f, "signed-by=")
			case strings.HasPrefix(f, "file:"):
				p = strings.TrimPrefix(f, "file:")
			case strings.HasPrefix(f, "copy:"):
				p = strings.TrimPrefix(f, "copy:")
			}
			if strings.HasPrefix(p, "/") {
				seen[path.Clean(p)] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// artifactExts are the file name endings collected after a binary build.
var artifactExts = []string{".deb", ".udeb", ".ddeb", ".buildinfo", ".changes"}

// sourceExts are collected too when the source package was built.
var sourceExts = []string{".dsc", ".tar.gz", ".tar.xz", ".tar.bz2", ".tar.lzma", ".tar.zst", ".asc", ".diff.gz"}

// collect puts the build's artifacts from buildDir (top level only) into
// outDir, as hard links where possible (linkOrCopy), and returns their
// absolute paths, sorted.
func collect(buildDir, outDir string, withSource bool) ([]string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating output directory: %w", err)
	}
	entries, err := os.ReadDir(buildDir)
	if err != nil {
		return nil, fmt.Errorf("listing build directory: %w", err)
	}
	exts := artifactExts
	if withSource {
		exts = append(append([]string(nil), artifactExts...), sourceExts...)
	}
	var files []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !hasAnySuffix(e.Name(), exts) {
			continue
		}
		dst, err := filepath.Abs(filepath.Join(outDir, e.Name()))
		if err != nil {
			return nil, err
		}
		if _, err := linkOrCopy(filepath.Join(buildDir, e.Name()), dst); err != nil {
			return nil, err
		}
		files = append(files, dst)
	}
	if len(files) == 0 {
		return nil, errors.New("the build produced no artifacts")
	}
	sort.Strings(files)
	return files, nil
}

func hasAnySuffix(name string, suffixes []string) bool {
	for _, s := range suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

func noEpoch(v string) string {
	if _, after, ok := strings.Cut(v, ":"); ok {
		return after
	}
	return v
}

// copyFile copies a regular file, replacing dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copying %s: %w", filepath.Base(src), err)
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return fmt.Errorf("copying %s: %w", filepath.Base(src), err)
	}
	_ = os.Remove(dst)
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return fmt.Errorf("copying %s: %w", filepath.Base(src), err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", filepath.Base(src), err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copying %s: %w", filepath.Base(src), err)
	}
	return nil
}

// copyTree copies a directory tree (regular files, directories, symlinks).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("copying source tree: %w", err)
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("copying source tree: %w", err)
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("copying source tree: %w", err)
			}
			return os.Symlink(l, target)
		case d.Type().IsRegular():
			return copyFile(p, target)
		}
		return nil
	})
}

func chownTree(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("handing build directory to the build user: %w", err)
		}
		return nil
	})
}
