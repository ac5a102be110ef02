// Package record writes run records: every packyard command keeps
// <workspace>/runs/<UTC time>-<command>-<id>/ with logs/, summary.json,
// events.jsonl and, for builds, artifacts.json.
//
// Events are typed JSON lines, one per step, appended as the step happens so
// that a killed run still leaves what it did. summary.json is written last,
// atomically.
package record
