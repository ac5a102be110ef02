package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/packyard/packyard/internal/run"
)

// ErrLintian is wrapped by *LintianError: lintian found tags at or above
// the severity the caller asked to fail on.
var ErrLintian = errors.New("lintian found problems")

// ErrNotReproducible is wrapped by *ReproducibilityError.
var ErrNotReproducible = errors.New("build is not reproducible")

// LintianReport summarizes one lintian run over a build's .changes.
type LintianReport struct {
	Command []string `json:"command"`
	// ReportPath is the full lintian output.
	ReportPath string `json:"report"`
	// Counts maps tag severity letter (E, W, I, P, X, O, C, N) to how many
	// tags lintian emitted with it.
	Counts map[string]int `json:"counts"`
	// Tags are the distinct "severity: package: tag" seen, sorted.
	Tags []string `json:"tags"`
}

// LintianError reports a lintian result the caller chose to fail on.
type LintianError struct {
	FailOn string
	Report *LintianReport
}

func (e *LintianError) Error() string {
	return fmt.Sprintf("lintian found %d errors and %d warnings (failing on %s); report: %s",
		e.Report.Counts["E"], e.Report.Counts["W"], e.FailOn, e.Report.ReportPath)
}

// Is reports that a *LintianError is an ErrLintian.
func (e *LintianError) Is(target error) bool { return target == ErrLintian }

// LintianArgs returns the lintian command line for changes: every tag
// shown (no display limit), info tags included, pedantic off.
func LintianArgs(changes string) []string {
	return []string{"lintian", "--display-info", "--tag-display-limit=0", changes}
}

// ParseLintian counts the tags of lintian's output ("E: pkg: tag extra").
func ParseLintian(out string) (map[string]int, []string) {
	counts := map[string]int{}
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if len(line) < 4 || line[1] != ':' || line[2] != ' ' || !strings.ContainsRune("EWIPXOCN", rune(line[0])) {
			continue
		}
		parts := strings.SplitN(line[3:], ": ", 2)
		if len(parts) != 2 {
			continue
		}
		tag := strings.Fields(parts[1])
		if len(tag) == 0 {
			continue
		}
		counts[line[:1]]++
		seen[line[:1]+": "+parts[0]+": "+tag[0]] = true
	}
	tags := make([]string, 0, len(seen))
	for t := range seen {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return counts, tags
}

// RunLintian runs lintian on the .changes among files and writes its full
// output to reportPath. failOn is "" (never fail), "error" or "warning";
// when lintian's tags reach it, the report comes back with a
// *LintianError.
func RunLintian(ctx context.Context, runner *run.Runner, files []string, reportPath, failOn string) (*LintianReport, error) {
	var changes string
	for _, f := range files {
		if strings.HasSuffix(f, ".changes") {
			changes = f
		}
	}
	if changes == "" {
		return nil, errors.New("running lintian: the build produced no .changes")
	}
	if err := os.MkdirAll(filepath.Dir(reportPath), 0o755); err != nil {
		return nil, fmt.Errorf("running lintian: %w", err)
	}
	f, err := os.Create(reportPath)
	if err != nil {
		return nil, fmt.Errorf("running lintian: %w", err)
	}
	defer f.Close()
	var out strings.Builder
	args := LintianArgs(changes)
	if err := runner.Run(ctx, run.Cmd{Args: args, Stdout: io.MultiWriter(f, &out), Log: f, Setpgid: true}); err != nil {
		// Exit status 1 means "tags at or above --fail-on were found"
		// (lintian(1)); the tags decide below. Anything else is a failure.
		var re *run.Error
		if !errors.As(err, &re) || re.ExitCode != 1 {
			return nil, fmt.Errorf("running lintian: %w", err)
		}
	}
	counts, tags := ParseLintian(out.String())
	rep := &LintianReport{Command: args, ReportPath: reportPath, Counts: counts, Tags: tags}
	switch {
	case failOn == "error" && counts["E"] > 0,
		failOn == "warning" && counts["E"]+counts["W"] > 0:
		return rep, &LintianError{FailOn: failOn, Report: rep}
	}
	return rep, nil
}

// ReproducibilityReport compares the binary packages of two builds.
type ReproducibilityReport struct {
	// Identical and Differ list .deb/.udeb file names.
	Identical []string `json:"identical"`
	Differ    []string `json:"differ"`
	// Missing are packages only one of the builds produced.
	Missing []string `json:"missing"`
	// DiffoscopeReports maps a differing file to diffoscope's text report,
	// when diffoscope is installed.
	DiffoscopeReports map[string]string `json:"diffoscope_reports,omitempty"`
}

// ReproducibilityError lists what differed between the two builds.
type ReproducibilityError struct{ Report *ReproducibilityReport }

func (e *ReproducibilityError) Error() string {
	return fmt.Sprintf("%s: %d differing, %d missing: %s", ErrNotReproducible, len(e.Report.Differ), len(e.Report.Missing),
		strings.Join(append(append([]string(nil), e.Report.Differ...), e.Report.Missing...), ", "))
}

// Is reports that a *ReproducibilityError is an ErrNotReproducible.
func (e *ReproducibilityError) Is(target error) bool { return target == ErrNotReproducible }

// VerifyReproducible builds req twice with b, the second time in another
// build path (and necessarily at another time), and compares the binary
// packages bit for bit. The first build's result is returned; the second
// build goes to <OutDir>/.repro and its log to <LogPath>.repro. With
// diffoscope installed, a report for each differing package is written
// next to the second build's files.
func VerifyReproducible(ctx context.Context, b Builder, runner *run.Runner, req Request) (*Result, *ReproducibilityReport, error) {
	first, err := b.Build(ctx, req)
	if err != nil {
		return first, nil, err
	}
	second := req
	second.OutDir = filepath.Join(req.OutDir, ".repro")
	if req.LogPath != "" {
		second.LogPath = req.LogPath + ".repro"
	}
	base := req.BuildPath
	if base == "" {
		base = "/build/" + first.Source + "-" + UpstreamVersion(first.Version)
	}
	second.BuildPath = base + "-second-path"
	req.Rec.Event("build.reproducible.second", map[string]any{"build_path": second.BuildPath})
	res2, err := b.Build(ctx, second)
	if err != nil {
		return first, nil, fmt.Errorf("second build for reproducibility: %w", err)
	}
	rep, err := CompareBuilds(first.Files, res2.Files)
	if err != nil {
		return first, nil, err
	}
	if len(rep.Differ) > 0 && run.Require("diffoscope") == nil {
		rep.DiffoscopeReports = map[string]string{}
		byName := map[string]string{}
		for _, f := range res2.Files {
			byName[filepath.Base(f)] = f
		}
		for _, f := range first.Files {
			name := filepath.Base(f)
			if !contains(rep.Differ, name) {
				continue
			}
			out := filepath.Join(second.OutDir, name+".diffoscope.txt")
			// diffoscope exits 1 when files differ: that is its answer.
			_ = runner.Run(ctx, run.Cmd{Args: []string{"diffoscope", "--text", out, f, byName[name]}, Setpgid: true})
			rep.DiffoscopeReports[name] = out
		}
	}
	req.Rec.Event("build.reproducible", map[string]any{"identical": rep.Identical, "differ": rep.Differ, "missing": rep.Missing})
	if len(rep.Differ)+len(rep.Missing) > 0 {
		return first, rep, &ReproducibilityError{Report: rep}
	}
	return first, rep, nil
}

// CompareBuilds compares the .deb and .udeb files of two builds by name
// and SHA-256.
func CompareBuilds(a, b []string) (*ReproducibilityReport, error) {
	sums := func(files []string) (map[string]string, error) {
		out := map[string]string{}
		for _, f := range files {
			if !strings.HasSuffix(f, ".deb") && !strings.HasSuffix(f, ".udeb") {
				continue
			}
			s, err := sha256File(f)
			if err != nil {
				return nil, err
			}
			out[filepath.Base(f)] = s
		}
		return out, nil
	}
	sa, err := sums(a)
	if err != nil {
		return nil, err
	}
	sb, err := sums(b)
	if err != nil {
		return nil, err
	}
	rep := &ReproducibilityReport{}
	for name, s := range sa {
		switch t, ok := sb[name]; {
		case !ok:
			rep.Missing = append(rep.Missing, name)
		case t == s:
			rep.Identical = append(rep.Identical, name)
		default:
			rep.Differ = append(rep.Differ, name)
		}
	}
	for name := range sb {
		if _, ok := sa[name]; !ok {
			rep.Missing = append(rep.Missing, name)
		}
	}
	sort.Strings(rep.Identical)
	sort.Strings(rep.Differ)
	sort.Strings(rep.Missing)
	return rep, nil
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", filepath.Base(path), err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
