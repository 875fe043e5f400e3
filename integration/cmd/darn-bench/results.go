package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one measurement of the table: darn's runs and their median, the
// floor's when it has one, the ratio and the verdict against its target.
type row struct {
	Group string    `json:"group"`
	Name  string    `json:"name"`
	Unit  string    `json:"unit"`
	Runs  []float64 `json:"runs"`
	// Median is the median of Runs; Floor that of FloorRuns.
	Median    float64   `json:"median"`
	FloorRuns []float64 `json:"floorRuns,omitempty"`
	Floor     float64   `json:"floor,omitempty"`
	Ratio     float64   `json:"ratio,omitempty"`
	// Target is "ratio<=1.3" or "abs<=1" (in Unit); Verdict PASS or ABOVE.
	Target  string `json:"target,omitempty"`
	Verdict string `json:"verdict,omitempty"`
	// Phases are darn's phases and FloorPhases the floor's, each the
	// median over the runs.
	Phases      []phase `json:"phases,omitempty"`
	FloorPhases []phase `json:"floorPhases,omitempty"`
	// Detail holds what else the measurement found (layer contents,
	// allocations, packages).
	Detail map[string]any `json:"detail,omitempty"`
}

// results is a whole run of the bench.
type results struct {
	Started  time.Time `json:"started"`
	Duration float64   `json:"durationSeconds"`
	Runs     int       `json:"runs"`
	// Machine says what the builder ran on and what else ran there.
	Machine map[string]string `json:"machine"`
	Rows    []row             `json:"rows"`
}

// median of xs; zero for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// medianPhases takes the median of each phase over several runs, in the
// order the phases first appear.
func medianPhases(runs [][]phase) []phase {
	var names []string
	by := map[string][]float64{}
	for _, ps := range runs {
		for _, p := range ps {
			if _, ok := by[p.Name]; !ok {
				names = append(names, p.Name)
			}
			by[p.Name] = append(by[p.Name], p.Seconds)
		}
	}
	out := make([]phase, 0, len(names))
	for _, n := range names {
		// A phase missing from a run counts as zero there.
		xs := append(by[n], make([]float64, len(runs)-len(by[n]))...)
		out = append(out, phase{Name: n, Seconds: median(xs)})
	}
	return out
}

// judge fills the medians, the ratio and the verdict.
func (r *row) judge() {
	r.Median = median(r.Runs)
	if len(r.FloorRuns) > 0 {
		r.Floor = median(r.FloorRuns)
		if r.Floor > 0 {
			r.Ratio = r.Median / r.Floor
		}
	}
	var limit float64
	switch {
	case r.Target == "":
		return
	case strings.HasPrefix(r.Target, "ratio<="):
		_, _ = fmt.Sscanf(r.Target, "ratio<=%g", &limit)
		r.Verdict = verdict(r.Ratio <= limit && r.Ratio > 0)
	case strings.HasPrefix(r.Target, "abs<="):
		_, _ = fmt.Sscanf(r.Target, "abs<=%g", &limit)
		r.Verdict = verdict(r.Median <= limit)
	}
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "ABOVE"
}

// writeJSON writes the results to path, creating its directory.
func (res results) writeJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	dt, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(dt, '\n'), 0o644)
}

// printTable writes the table, one line per measurement, then the
// phases of each timed measurement (darn's and its floor's medians).
func (res results) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tMEASUREMENT\tDARN\tFLOOR\tRATIO\tTARGET\tVERDICT")
	for _, r := range res.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Group, r.Name, darnCell(r),
			formatFloor(r), formatRatio(r.Ratio), targetText(r.Target, r.Unit), r.Verdict)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nPhases (medians, seconds):")
	for _, r := range res.Rows {
		if len(r.Phases) > 0 {
			fmt.Fprintf(w, "  %s, %s: %s\n", r.Group, r.Name, phaseText(r.Phases))
		}
		if len(r.FloorPhases) > 0 {
			fmt.Fprintf(w, "  %s, floor: %s\n", r.Group, phaseText(r.FloorPhases))
		}
	}
}

// darnCell is darn's median; for a Go benchmark with its throughput and
// allocations per operation.
func darnCell(r row) string {
	cell := format(r.Median, r.Unit)
	if r.Unit != "ns/op" {
		return cell
	}
	if mbs, ok := r.Detail["MB/s"].(float64); ok {
		cell += fmt.Sprintf(" (%.0f MB/s)", mbs)
	}
	b, _ := r.Detail["B/op"].(float64)
	allocs, _ := r.Detail["allocs/op"].(float64)
	return cell + fmt.Sprintf(", %.1f MiB/op, %.0f allocs/op", b/(1<<20), allocs)
}

func formatFloor(r row) string {
	if len(r.FloorRuns) == 0 {
		return "-"
	}
	return format(r.Floor, r.Unit)
}

func formatRatio(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", x)
}

// format prints a value in its unit.
func format(x float64, unit string) string {
	switch unit {
	case "s":
		return fmt.Sprintf("%.2f s", x)
	case "B":
		return fmt.Sprintf("%.1f KiB", x/1024)
	case "ns/op":
		return formatNanos(x)
	}
	return fmt.Sprintf("%g %s", x, unit)
}

func formatNanos(x float64) string {
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.2f s/op", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.2f ms/op", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1f µs/op", x/1e3)
	}
	return fmt.Sprintf("%.0f ns/op", x)
}

// targetText renders a target for the table.
func targetText(t, unit string) string {
	switch {
	case strings.HasPrefix(t, "ratio<="):
		return "≤ " + strings.TrimPrefix(t, "ratio<=") + "× floor"
	case strings.HasPrefix(t, "abs<="):
		return "≤ " + strings.TrimPrefix(t, "abs<=") + " " + unit
	}
	return "-"
}

// phaseText renders phases as "name 1.23 s, …".
func phaseText(ps []phase) string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%s %.2f", p.Name, p.Seconds))
	}
	return strings.Join(parts, ", ")
}
