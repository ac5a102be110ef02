package record

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/renameio/v2"
)

// Status values of a finished run.
const (
	StatusOK     = "ok"
	StatusFailed = "failed"
)

// Summary is summary.json: what ran, when, and how it ended.
type Summary struct {
	ID        string    `json:"id"`
	Command   string    `json:"command"`
	Arguments []string  `json:"arguments"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Status    string    `json:"status"`
	ExitCode  int       `json:"exit_code"`
	Error     string    `json:"error,omitempty"`
}

// Event is one line of events.jsonl. Type is a dotted name such as
// "fetch.source" or "build.done"; Data holds the step's typed fields.
type Event struct {
	Time time.Time      `json:"time"`
	Type string         `json:"type"`
	Data map[string]any `json:"data,omitempty"`
}

// Artifact is one file a build produced, as listed in artifacts.json.
type Artifact struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Kept is false for files collected but not published.
	Kept bool `json:"kept"`
}

// Artifacts is artifacts.json for a build.
type Artifacts struct {
	Builder     string     `json:"builder"`
	Command     []string   `json:"command"`
	ExitCode    int        `json:"exit_code"`
	CollectedIn string     `json:"collected_from"`
	Files       []Artifact `json:"artifacts"`
}

// Run is an open run record. Its methods are safe for concurrent use.
type Run struct {
	Dir     string
	summary Summary
	mu      sync.Mutex
	events  *os.File
	onEvent func(Event)
}

// Start creates the run directory under runsDir and opens events.jsonl.
// The directory name is <UTC time>-<command>-<id> with a random 8-hex id.
func Start(runsDir, command string, args []string) (*Run, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("generating run id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	now := time.Now().UTC()
	dir := filepath.Join(runsDir, fmt.Sprintf("%s-%s-%s", now.Format("20060102T150405Z"), command, id))
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("creating run record: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "events.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating events.jsonl: %w", err)
	}
	r := &Run{Dir: dir, events: f, summary: Summary{ID: id, Command: command, Arguments: args, Start: now, Status: "running"}}
	r.Event("run.start", map[string]any{"command": command, "arguments": args})
	return r, nil
}

// ID returns the run's id.
func (r *Run) ID() string { return r.summary.ID }

// LogPath returns the path of a log file named name under logs/.
func (r *Run) LogPath(name string) string { return filepath.Join(r.Dir, "logs", name) }

// OnEvent sets a callback that receives every event after it is written.
func (r *Run) OnEvent(fn func(Event)) {
	r.mu.Lock()
	r.onEvent = fn
	r.mu.Unlock()
}

// Event appends one typed event. Write failures are ignored: a full disk
// must not turn a good build into a failed one, and the summary still says
// how the run ended.
func (r *Run) Event(typ string, data map[string]any) {
	if r == nil {
		return
	}
	ev := Event{Time: time.Now().UTC(), Type: typ, Data: data}
	line, err := json.Marshal(ev)
	if err != nil {
		line, _ = json.Marshal(Event{Time: ev.Time, Type: typ, Data: map[string]any{"marshal_error": err.Error()}})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events != nil {
		_, _ = r.events.Write(append(line, '\n'))
	}
	if r.onEvent != nil {
		r.onEvent(ev)
	}
}

// WriteArtifacts writes artifacts.json atomically.
func (r *Run) WriteArtifacts(a Artifacts) error {
	return writeJSON(filepath.Join(r.Dir, "artifacts.json"), a)
}

// WriteJSON writes name (relative to the run directory) atomically as JSON.
func (r *Run) WriteJSON(name string, v any) error {
	return writeJSON(filepath.Join(r.Dir, name), v)
}

// Finish writes summary.json with the exit code and error, and closes events.
func (r *Run) Finish(exitCode int, runErr error) error {
	if r == nil {
		return nil
	}
	r.summary.End = time.Now().UTC()
	r.summary.ExitCode = exitCode
	r.summary.Status = StatusOK
	if exitCode != 0 || runErr != nil {
		r.summary.Status = StatusFailed
	}
	if runErr != nil {
		r.summary.Error = runErr.Error()
	}
	r.Event("run.end", map[string]any{"status": r.summary.Status, "exit_code": exitCode})
	r.mu.Lock()
	if r.events != nil {
		_ = r.events.Close()
		r.events = nil
	}
	r.mu.Unlock()
	return writeJSON(filepath.Join(r.Dir, "summary.json"), r.summary)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", filepath.Base(path), err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	if err := renameio.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Base(path), err)
	}
	return nil
}
