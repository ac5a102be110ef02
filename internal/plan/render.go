package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteText writes the plan for people: the stages with each item's source,
// version, origin, reason and binaries, then a dependency tree from every
// target, then cycles, missing build-dependencies and notes.
func WriteText(w io.Writer, pl *Plan) error {
	var b strings.Builder
	for i, stage := range pl.Stages {
		fmt.Fprintf(&b, "stage %d\n", i+1)
		for _, it := range stage {
			fmt.Fprintf(&b, "  %s %s", it.Source, it.Version)
			if it.Origin != "" {
				fmt.Fprintf(&b, " (%s)", it.Origin)
			}
			fmt.Fprintf(&b, "  %s", it.Reason)
			if len(it.NeededBy) > 0 {
				var by []string
				for _, n := range it.NeededBy {
					by = append(by, strings.Join(n.Chain, " -> "))
				}
				fmt.Fprintf(&b, " of %s", strings.Join(by, "; "))
			}
			b.WriteByte('\n')
			if len(it.Binaries) > 0 {
				fmt.Fprintf(&b, "    provides: %s\n", strings.Join(it.Binaries, ", "))
			}
		}
	}
	byName := map[string]*Item{}
	for _, it := range pl.Items {
		byName[it.Source] = it
	}
	var roots []*Item
	for _, it := range pl.Items {
		if it.Reason == "target" {
			roots = append(roots, it)
		}
	}
	sort.Slice(roots, func(i, j int) bool { return roots[i].Source < roots[j].Source })
	if len(roots) > 0 {
		b.WriteString("tree\n")
		shown := map[*Item]bool{}
		for _, r := range roots {
			writeTree(&b, r, byName, "  ", "", map[*Item]bool{}, shown)
		}
	}
	for _, c := range pl.Cycles {
		fmt.Fprintf(&b, "cycle: %s\n", c.String())
	}
	for _, m := range pl.Missing {
		fmt.Fprintf(&b, "missing: %s\n", m.String())
	}
	for _, n := range pl.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTree prints an item and, the first time only, its dependencies:
// later occurrences say "(see above)", so that shared build-dependencies do
// not multiply the output.
func writeTree(b *strings.Builder, it *Item, byName map[string]*Item, indent, via string, path, shown map[*Item]bool) {
	fmt.Fprintf(b, "%s%s %s [stage %d]%s", indent, it.Source, it.Version, it.Stage, via)
	if shown[it] && len(it.Depends) > 0 {
		b.WriteString(" (see above)\n")
		return
	}
	b.WriteByte('\n')
	shown[it] = true
	path[it] = true
	for _, e := range it.Depends {
		if dep := byName[e.Source]; dep != nil {
			if path[dep] {
				fmt.Fprintf(b, "%s  %s (cycle, via %s)\n", indent, dep.Source, e.Binary)
				continue
			}
			writeTree(b, dep, byName, indent+"  ", " via "+e.Binary, path, shown)
		}
	}
	delete(path, it)
}

// WriteJSON writes the plan as one JSON document: arch, stages (lists of
// items), cycles, missing, notes.
func WriteJSON(w io.Writer, pl *Plan) error {
	type jsonPlan struct {
		Arch    string    `json:"arch"`
		Stages  [][]*Item `json:"stages"`
		Cycles  []Cycle   `json:"cycles,omitempty"`
		Missing []Missing `json:"missing,omitempty"`
		Notes   []string  `json:"notes,omitempty"`
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonPlan{Arch: pl.Arch, Stages: pl.Stages, Cycles: pl.Cycles, Missing: pl.Missing, Notes: pl.Notes})
}

// WriteDot writes the plan as a Graphviz digraph: one node per item
// (clustered by stage), one edge per build-order constraint labelled with
// the binary package, cycle edges in red.
func WriteDot(w io.Writer, pl *Plan) error {
	var b strings.Builder
	b.WriteString("digraph plan {\n  rankdir=BT;\n  node [shape=box];\n")
	for i, stage := range pl.Stages {
		fmt.Fprintf(&b, "  subgraph cluster_stage%d {\n    label=%q;\n", i+1, fmt.Sprintf("stage %d", i+1))
		for _, it := range stage {
			style := ""
			if it.Reason == "target" {
				style = ", style=bold"
			}
			fmt.Fprintf(&b, "    %q [label=%q%s];\n", it.Source, it.Source+"\n"+it.Version, style)
		}
		b.WriteString("  }\n")
	}
	inCycle := map[[2]string]bool{}
	for _, c := range pl.Cycles {
		for _, e := range c.Path {
			inCycle[[2]string{e.From, e.Source}] = true
		}
	}
	for _, it := range pl.Items {
		for _, e := range it.Depends {
			color := ""
			if inCycle[[2]string{it.Source, e.Source}] {
				color = ", color=red"
			}
			fmt.Fprintf(&b, "  %q -> %q [label=%q%s];\n", it.Source, e.Source, e.Binary, color)
		}
	}
	for _, c := range pl.Cycles {
		if len(c.Path) == 1 && c.Path[0].From == c.Path[0].Source {
			fmt.Fprintf(&b, "  %q -> %q [label=%q, color=red];\n", c.Path[0].From, c.Path[0].Source, c.Path[0].Binary)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
