package repo

import (
	"context"
	"fmt"
	"strings"
)

// InstallabilityChecker decides which binary packages of a suite cannot be
// installed. packages and background are Packages files (deb822 text):
// packages is the suite being checked, background what else apt would see
// (the upstream archive of the codename). It returns the uninstallable
// packages of packages, by name, each with a reason. internal/plan may
// provide a full solver through this interface; Builtin is the
// repository's own.
type InstallabilityChecker interface {
	Uninstallable(ctx context.Context, arch string, packages, background [][]byte) (map[string]string, error)
}

// BackgroundFunc returns the Packages files (uncompressed) of the upstream
// archives for codename and arch, for installability checks.
type BackgroundFunc func(ctx context.Context, codename, arch string) ([][]byte, error)

// SetInstallability sets the checker used by Migrate (nil: Builtin) and the
// source of background Packages files (nil: none; dependencies on packages
// that exist nowhere in the suite are then taken as provided by the
// upstream archive).
func (r *Repo) SetInstallability(c InstallabilityChecker, bg BackgroundFunc) {
	r.installability, r.background = c, bg
}

// Builtin is the repository's installability checker: for each package it
// searches, with backtracking, for a set of packages that contains it,
// satisfies every Pre-Depends and Depends (versions, alternatives,
// Provides) and has no Conflicts or Breaks among its members, as
// dose-distcheck defines installability. A search that exceeds its step
// budget counts the package as installable.
type Builtin struct {
	// AssumeMissing treats relations on names found nowhere as satisfied.
	AssumeMissing bool
}

var _ InstallabilityChecker = Builtin{}

// Uninstallable implements InstallabilityChecker.
func (b Builtin) Uninstallable(ctx context.Context, arch string, packages, background [][]byte) (map[string]string, error) {
	s := &solver{byName: map[string][]*pkgInfo{}, provides: map[string][]provide{}, assumeMissing: b.AssumeMissing}
	var own []*pkgInfo
	for i, set := range [][][]byte{packages, background} {
		for _, text := range set {
			sts, err := parseStanzas(text)
			if err != nil {
				return nil, fmt.Errorf("reading Packages: %w", err)
			}
			for _, st := range sts {
				p := newPkgInfo(st)
				if p.arch != arch && p.arch != "all" {
					continue
				}
				s.add(p)
				s.addProvides(p, st.get("Provides"))
				if i == 0 {
					own = append(own, p)
				}
			}
		}
	}
	out := map[string]string{}
	for _, p := range own {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if ok, why := s.installable(p); !ok {
			out[p.name] = why
		}
	}
	return out, nil
}

// rel is one possibility of a relation: name, optional version constraint.
type rel struct {
	name, op, ver string
}

func (r rel) String() string {
	if r.op == "" {
		return r.name
	}
	return fmt.Sprintf("%s (%s %s)", r.name, r.op, r.ver)
}

type provide struct {
	ver string // "" for unversioned
	pkg *pkgInfo
}

type pkgInfo struct {
	name, ver, arch string
	deps            [][]rel
	conflicts       []rel
}

// parseRelations reads a Depends-style field (Policy 7.1).
func parseRelations(v string) [][]rel {
	var out [][]rel
	for _, group := range strings.Split(v, ",") {
		var alts []rel
		for _, a := range strings.Split(group, "|") {
			a = strings.TrimSpace(a)
			if i := strings.IndexAny(a, "[<"); i >= 0 && !strings.Contains(a[:i], "(") {
				a = strings.TrimSpace(a[:i])
			}
			if a == "" {
				continue
			}
			var r rel
			name := a
			if i := strings.IndexByte(a, '('); i >= 0 {
				name = strings.TrimSpace(a[:i])
				c := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(a[i+1:]), ")"))
				if j := strings.IndexByte(c, ')'); j >= 0 {
					c = c[:j]
				}
				op := strings.TrimRight(c, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+~-: ")
				r.op, r.ver = strings.TrimSpace(op), strings.TrimSpace(c[len(op):])
			}
			if i := strings.IndexByte(name, ':'); i >= 0 {
				name = name[:i]
			}
			r.name = name
			alts = append(alts, r)
		}
		if len(alts) > 0 {
			out = append(out, alts)
		}
	}
	return out
}

func newPkgInfo(st stanza) *pkgInfo {
	p := &pkgInfo{name: st.get("Package"), ver: st.get("Version"), arch: st.get("Architecture")}
	p.deps = append(parseRelations(st.get("Pre-Depends")), parseRelations(st.get("Depends"))...)
	for _, f := range []string{"Conflicts", "Breaks"} {
		for _, g := range parseRelations(st.get(f)) {
			p.conflicts = append(p.conflicts, g...)
		}
	}
	return p
}

type solver struct {
	byName        map[string][]*pkgInfo
	provides      map[string][]provide
	assumeMissing bool
	steps         int
	lastFail      []rel
}

func (s *solver) add(p *pkgInfo) {
	s.byName[p.name] = append(s.byName[p.name], p)
}

// addProvides registers the Provides of a package.
func (s *solver) addProvides(p *pkgInfo, provides string) {
	for _, g := range parseRelations(provides) {
		for _, r := range g {
			s.provides[r.name] = append(s.provides[r.name], provide{ver: r.ver, pkg: p})
		}
	}
}

// satisfies reports whether package p (by itself or a Provides) meets r.
func (s *solver) matches(p *pkgInfo, r rel) bool {
	if p.name == r.name {
		return r.op == "" || versionSatisfies(p.ver, r.op, r.ver)
	}
	for _, pv := range s.provides[r.name] {
		if pv.pkg == p && (r.op == "" || (pv.ver != "" && versionSatisfies(pv.ver, r.op, r.ver))) {
			return true
		}
	}
	return false
}

func versionSatisfies(have, op, want string) bool {
	c := compareVersions(have, want)
	switch op {
	case "<<", "<":
		return c < 0
	case "<=":
		return c <= 0
	case "=":
		return c == 0
	case ">=":
		return c >= 0
	case ">>", ">":
		return c > 0
	}
	return true
}

// candidates returns the packages that can meet one of alts.
func (s *solver) candidates(alts []rel) []*pkgInfo {
	var out []*pkgInfo
	for _, r := range alts {
		for _, p := range s.byName[r.name] {
			if r.op == "" || versionSatisfies(p.ver, r.op, r.ver) {
				out = append(out, p)
			}
		}
		for _, pv := range s.provides[r.name] {
			if r.op == "" || (pv.ver != "" && versionSatisfies(pv.ver, r.op, r.ver)) {
				out = append(out, pv.pkg)
			}
		}
	}
	return out
}

// known reports whether any alternative names a package or virtual package
// present anywhere.
func (s *solver) known(alts []rel) bool {
	for _, r := range alts {
		if len(s.byName[r.name]) > 0 || len(s.provides[r.name]) > 0 {
			return true
		}
	}
	return false
}

func (s *solver) conflict(a, b *pkgInfo) bool {
	if a == b {
		return false
	}
	for _, r := range a.conflicts {
		if s.matches(b, r) {
			return true
		}
	}
	for _, r := range b.conflicts {
		if s.matches(a, r) {
			return true
		}
	}
	return false
}

const solverBudget = 20000

// installable searches for an install set containing p.
func (s *solver) installable(p *pkgInfo) (bool, string) {
	s.steps, s.lastFail = 0, nil
	chosen := map[string]*pkgInfo{p.name: p}
	if s.solve(chosen, append([][]rel(nil), p.deps...)) {
		return true, ""
	}
	if s.lastFail == nil {
		return false, "conflicts"
	}
	var alts []string
	for _, r := range s.lastFail {
		alts = append(alts, r.String())
	}
	return false, "cannot satisfy " + strings.Join(alts, " | ")
}

func (s *solver) solve(chosen map[string]*pkgInfo, pending [][]rel) bool {
	s.steps++
	if s.steps > solverBudget {
		return true
	}
	for len(pending) > 0 {
		alts := pending[0]
		sat := false
		for _, c := range chosen {
			for _, r := range alts {
				if s.matches(c, r) {
					sat = true
					break
				}
			}
			if sat {
				break
			}
		}
		if sat || (s.assumeMissing && !s.known(alts)) {
			pending = pending[1:]
			continue
		}
		for _, cand := range s.candidates(alts) {
			if _, taken := chosen[cand.name]; taken {
				continue
			}
			clash := false
			for _, c := range chosen {
				if s.conflict(c, cand) {
					clash = true
					break
				}
			}
			if clash {
				continue
			}
			chosen[cand.name] = cand
			next := append(append([][]rel(nil), pending[1:]...), cand.deps...)
			if s.solve(chosen, next) {
				return true
			}
			delete(chosen, cand.name)
		}
		if s.lastFail == nil {
			s.lastFail = alts
		}
		return false
	}
	return true
}

// uninstallable checks every architecture of x's distribution, before
// (false) or after (true) the pending edits, and returns, per architecture,
// the uninstallable packages with reasons.
func (x *txn) uninstallable(ctx context.Context, after bool) (map[string]map[string]string, error) {
	checker := x.r.installability
	if checker == nil {
		checker = Builtin{AssumeMissing: x.r.background == nil}
	}
	out := map[string]map[string]string{}
	for _, a := range x.t.Dist.Architectures {
		var texts [][]byte
		for _, c := range x.t.Dist.Components {
			s := binarySpec(c, a, false)
			var w *workIndex
			if after {
				w = x.index(s)
			} else {
				var chunks []chunkRef
				if x.prev != nil {
					chunks = x.prev.Indexes[s.Key()]
				}
				w = newWorkIndex(s.Kind, x.r.chunks, x.r.chunkTarget, chunks)
			}
			var buf []byte
			if err := w.all(func(_ string, data []byte) error { buf = append(buf, data...); return nil }); err != nil {
				return nil, err
			}
			texts = append(texts, buf)
		}
		var bg [][]byte
		if x.r.background != nil {
			var err error
			if bg, err = x.r.background(ctx, x.t.Dist.Codename, a); err != nil {
				return nil, fmt.Errorf("reading background packages: %w", err)
			}
		}
		res, err := checker.Uninstallable(ctx, a, texts, bg)
		if err != nil {
			return nil, fmt.Errorf("checking installability: %w", err)
		}
		out[a] = res
	}
	return out, nil
}

// newlyBroken returns "package/arch" -> reason for packages uninstallable
// after but not before.
func newlyBroken(before, after map[string]map[string]string) map[string]string {
	out := map[string]string{}
	for a, m := range after {
		for p, why := range m {
			if _, was := before[a][p]; !was {
				out[p+"/"+a] = why
			}
		}
	}
	return out
}
