package archive

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/packyard/packyard/internal/sign"
)

// Index states in IndexStatus.State.
const (
	StateOK      = "ok"
	StateMissing = "missing"
	StateCorrupt = "corrupt"
	// StateAbsent is a Sources index the archive does not publish.
	StateAbsent = "absent"
)

// ErrPantryMissing and ErrPantryCorrupt are matched by a *StatusError.
var (
	ErrPantryMissing = errors.New("pantry index missing")
	ErrPantryCorrupt = errors.New("pantry index corrupt")
)

// IndexStatus is the state of one configured index in the pantry.
type IndexStatus struct {
	Archive      string `json:"archive"`
	Suite        string `json:"suite"`
	Component    string `json:"component"`
	Architecture string `json:"architecture"` // "source" for Sources
	Path         string `json:"path"`
	State        string `json:"state"`
	// Problem says why the index is missing or corrupt.
	Problem string    `json:"problem,omitempty"`
	Fetched time.Time `json:"fetched,omitzero"`
	Checked time.Time `json:"checked,omitzero"`
	// Age is the time since the mirror was last checked.
	Age        time.Duration `json:"-"`
	AgeSeconds float64       `json:"age_seconds"`
	Size       int64         `json:"size"`
	Stanzas    int           `json:"stanzas"`
	Date       time.Time     `json:"date,omitzero"`
	ValidUntil time.Time     `json:"valid_until,omitzero"`
	// Expired is true when the Release's Valid-Until has passed: the index
	// is intact but a refresh is due.
	Expired bool `json:"expired"`
}

// StatusError lists the missing and corrupt indexes found by Status.
// errors.Is matches ErrPantryCorrupt when any index is corrupt and
// ErrPantryMissing when any is missing.
type StatusError struct {
	Missing, Corrupt []IndexStatus
}

func (e *StatusError) Error() string {
	var parts []string
	for _, s := range e.Corrupt {
		parts = append(parts, fmt.Sprintf("%s %s %s is corrupt: %s", s.Archive, s.Suite, indexPath(s.Component, s.Architecture), s.Problem))
	}
	for _, s := range e.Missing {
		parts = append(parts, fmt.Sprintf("%s %s %s is missing: %s", s.Archive, s.Suite, indexPath(s.Component, s.Architecture), s.Problem))
	}
	return strings.Join(parts, "; ") + " (run packyard refresh --force while online)"
}

func (e *StatusError) Is(target error) bool {
	return target == ErrPantryCorrupt && len(e.Corrupt) > 0 || target == ErrPantryMissing && len(e.Missing) > 0
}

// StatusOptions tunes Status.
type StatusOptions struct {
	// Verify re-checks each suite's stored InRelease signature and every
	// index's size and SHA256 against it (reads every byte; no network).
	Verify bool
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Status reports, without network, every configured index: whether the
// pantry has it, when it was fetched and checked, its size and stanza
// count, and with Verify whether it still matches its signed InRelease. It
// returns the rows and, when anything is missing or corrupt, a *StatusError.
func (p *Pantry) Status(opts StatusOptions) ([]IndexStatus, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	now := opts.Now()
	var rows []IndexStatus
	serr := &StatusError{}
	for _, a := range p.cfg.Archives {
		for _, suite := range a.Suites {
			dir := p.generation(a.Name, suite)
			meta, merr := readMeta(dir)
			var rel *Release
			var relErr error
			if merr == nil && opts.Verify {
				rel, relErr = verifyStored(dir, a.SignedBy)
			}
			for _, w := range wantedIndexes(a) {
				st := IndexStatus{Archive: a.Name, Suite: suite, Component: w[0], Architecture: w[1],
					Path: filepath.Join(p.SuiteDir(a.Name, suite), indexPath(w[0], w[1])), State: StateOK}
				p.indexStatus(&st, filepath.Join(dir, indexPath(w[0], w[1])), meta, merr, rel, relErr, now)
				switch st.State {
				case StateMissing:
					serr.Missing = append(serr.Missing, st)
				case StateCorrupt:
					serr.Corrupt = append(serr.Corrupt, st)
				}
				rows = append(rows, st)
			}
		}
	}
	if len(serr.Missing)+len(serr.Corrupt) > 0 {
		return rows, serr
	}
	return rows, nil
}

func (p *Pantry) indexStatus(st *IndexStatus, file string, meta *SuiteMeta, merr error, rel *Release, relErr error, now time.Time) {
	if merr != nil {
		st.State, st.Problem = StateMissing, "suite never refreshed"
		if !errors.Is(merr, ErrNotRefreshed) {
			st.State, st.Problem = StateCorrupt, merr.Error()
		}
		return
	}
	st.Checked, st.Age, st.Date, st.ValidUntil = meta.Checked, now.Sub(meta.Checked), meta.Date, meta.ValidUntil
	st.AgeSeconds = st.Age.Round(time.Second).Seconds()
	st.Expired = !meta.ValidUntil.IsZero() && now.After(meta.ValidUntil)
	im := meta.Index(st.Component, st.Architecture)
	if im == nil {
		st.State, st.Problem = StateMissing, "not in the pantry (added to the config since the last refresh?)"
		return
	}
	if im.Absent {
		st.State = StateAbsent
		return
	}
	st.Fetched, st.Size, st.Stanzas = im.Fetched, im.Size, im.Stanzas
	fi, err := os.Stat(file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		st.State, st.Problem = StateMissing, "file deleted"
		return
	case err != nil:
		st.State, st.Problem = StateCorrupt, err.Error()
		return
	case fi.Size() != im.Size:
		st.State, st.Problem = StateCorrupt, fmt.Sprintf("size %d, want %d", fi.Size(), im.Size)
		return
	}
	if relErr != nil {
		st.State, st.Problem = StateCorrupt, relErr.Error()
		return
	}
	if rel == nil {
		return
	}
	want, ok := rel.SHA256[im.Path]
	if !ok {
		want = FileHash{Size: im.Size, SHA256: im.SHA256}
	}
	if !fileMatches(file, FileRef{Size: want.Size, SHA256: want.SHA256}) {
		st.State, st.Problem = StateCorrupt, "SHA256 does not match the signed InRelease"
	}
}

// verifyStored re-verifies a suite's stored InRelease and parses it.
func verifyStored(dir, signedBy string) (*Release, error) {
	kr, err := readKeyring(signedBy)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "InRelease"))
	if errors.Is(err, os.ErrNotExist) {
		return verifyStoredDetached(dir, kr)
	}
	if err != nil {
		return nil, fmt.Errorf("reading stored InRelease: %w", err)
	}
	plain, _, err := sign.VerifyClearSigned(kr, data)
	if err != nil {
		return nil, fmt.Errorf("stored InRelease: %w", err)
	}
	return ParseRelease(plain)
}

func verifyStoredDetached(dir string, kr openpgp.EntityList) (*Release, error) {
	data, err := os.ReadFile(filepath.Join(dir, "Release"))
	if err != nil {
		return nil, fmt.Errorf("reading stored Release: %w", err)
	}
	sig, err := os.ReadFile(filepath.Join(dir, "Release.gpg"))
	if err != nil {
		return nil, fmt.Errorf("reading stored Release.gpg: %w", err)
	}
	if _, err := sign.VerifyDetached(kr, data, sig); err != nil {
		return nil, fmt.Errorf("stored Release: %w", err)
	}
	return ParseRelease(data)
}

// WriteStatusTable writes rows as an aligned table for a terminal:
// archive, suite, component, architecture, fetched time, age, size,
// stanzas and state.
func WriteStatusTable(w io.Writer, rows []IndexStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ARCHIVE\tSUITE\tCOMPONENT\tARCH\tFETCHED\tAGE\tSIZE\tSTANZAS\tSTATE")
	for _, r := range rows {
		fetched, age := "-", "-"
		if !r.Fetched.IsZero() {
			fetched = r.Fetched.UTC().Format("2006-01-02 15:04Z")
		}
		if !r.Checked.IsZero() {
			age = humanAge(r.Age)
		}
		state := r.State
		if r.Expired {
			state += " (expired)"
		}
		if r.Problem != "" {
			state += ": " + r.Problem
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.Archive, r.Suite, r.Component, r.Architecture,
			fetched, age, humanSize(r.Size), r.Stanzas, state)
	}
	return tw.Flush()
}

func humanAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1fh", d.Hours())
	default:
		return fmt.Sprintf("%.1fd", d.Hours()/24)
	}
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%dB", n)
	}
}
