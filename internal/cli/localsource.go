package cli

import (
	"pault.ag/go/debian/version"

	"github.com/packyard/packyard/internal/archive"
	"github.com/packyard/packyard/internal/deb822"
)

// fetchLocal finds t in the Sources index packyard's repository publishes
// for the build's distribution (the exact version when t has one, else the
// newest) and points t at the pooled .dsc, checked against that index. It
// reports false when the repository has no such source.
func (s *buildSession) fetchLocal(t *buildTarget) (bool, error) {
	var best deb822.Paragraph
	var bestVersion string
	err := eachLocalParagraph(s.cfg, s.dist, "source", "Sources", func(p deb822.Paragraph) {
		if p.Get("Package") != t.name {
			return
		}
		v := p.Get("Version")
		if t.version != "" && v != t.version {
			return
		}
		if bestVersion == "" || newer(v, bestVersion) {
			best, bestVersion = p, v
		}
	})
	if err != nil || bestVersion == "" {
		return false, err
	}
	dsc, err := archive.RepositoryDSC(s.cfg.WorkspaceDir().Repo(), best)
	if err != nil {
		return true, err
	}
	s.g.printf("using %s %s from packyard's repository %s\n", t.name, bestVersion, s.dist)
	s.rec.Event("source.fetched", map[string]any{"source": t.name, "version": bestVersion, "archive": "local", "suite": s.dist, "dsc": dsc})
	t.dsc, t.version = dsc, bestVersion
	return true, nil
}

// newer reports whether Debian version a sorts after b (Debian Policy
// §5.6.12); a version that does not parse is never newer.
func newer(a, b string) bool {
	va, err := version.Parse(a)
	if err != nil {
		return false
	}
	vb, err := version.Parse(b)
	return err != nil || version.Compare(va, vb) > 0
}
