// Command darn-bench is `make bench`: it measures darn on the test bed
// against the physical floor of the same work, and darn's parsers with Go's
// benchmarks. Each measurement is the median of -runs runs (five by
// default); it prints a table, writes results.json, a chart (results.png)
// and every run's BuildKit timeline under -out. docs/bench.md says what
// each number means.
//
//	darn-bench [-runs N] [-only GROUP,...] [-skip GROUP,...] [-out DIR]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/moby/buildkit/client"
)

// group is a named part of the suite that -only and -skip select.
type group struct {
	Name string
	Doc  string
	Run  func(*bench, context.Context) error
}

// groups are the suite's parts, in the order they run.
var groups = []group{
	{"debian", "test image from its report: cold, warm, layer, against apt by hand", (*bench).debian},
	{"distroless", "distroless image through the tooling image (source policy), against unpacking by hand", (*bench).distroless},
	{"update-all", "test image in update-all mode, against apt by hand", (*bench).updateAll},
	{"nothing", "nothing to do: already-fixed report and empty report", (*bench).nothing},
	{"multi", "two-platform index, against its slowest platform alone", (*bench).multi},
	{"rpm", "dnf image from its report, against dnf by hand", (*bench).rpm},
	{"apk", "Alpine-shaped image through darn's image (tooling-image)", (*bench).apk},
	{"parsers", "Go benchmarks of the report and database parsers (go test -bench)", (*bench).goBench},
}

type flags struct {
	runs       int
	only, skip string
	out, env   string
	list       bool
	layer      string
	from       string
}

func main() {
	var f flags
	flag.IntVar(&f.runs, "runs", 5, "runs per measurement (the median is reported; fewer than five is for trying things out)")
	flag.StringVar(&f.only, "only", "", "comma-separated groups to run (default: all; -list names them)")
	flag.StringVar(&f.skip, "skip", "", "comma-separated groups to leave out")
	flag.StringVar(&f.out, "out", ".testbed/bench", "directory for results.json, results.png and the timelines")
	flag.StringVar(&f.env, "env", ".testbed/env", "the test bed's environment file, for variables not already set")
	flag.BoolVar(&f.list, "list", false, "list the groups and exit")
	flag.StringVar(&f.layer, "layer", "", "ORIGINAL,PATCHED: only measure PATCHED's last layer against its changed-content floor, and exit")
	flag.StringVar(&f.from, "from", "", "results.json of an earlier run: print its table and draw its chart into -out again, and exit")
	flag.Parse()
	if f.from != "" {
		if err := replot(f.from, f.out); err != nil {
			fmt.Fprintln(os.Stderr, "darn-bench:", err)
			os.Exit(1)
		}
		return
	}
	if f.layer != "" {
		if err := printLayer(context.Background(), f.layer); err != nil {
			fmt.Fprintln(os.Stderr, "darn-bench:", err)
			os.Exit(1)
		}
		return
	}
	if f.list {
		for _, g := range groups {
			fmt.Printf("%-12s %s\n", g.Name, g.Doc)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, f)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "darn-bench:", err)
		os.Exit(1)
	}
}

// selected returns the groups -only and -skip leave.
func selected(f flags) ([]group, error) {
	known := map[string]bool{}
	for _, g := range groups {
		known[g.Name] = true
	}
	split := func(s string) ([]string, error) {
		var out []string
		for _, n := range strings.Split(s, ",") {
			if n = strings.TrimSpace(n); n == "" {
				continue
			}
			if !known[n] {
				return nil, fmt.Errorf("unknown group %q (-list names them)", n)
			}
			out = append(out, n)
		}
		return out, nil
	}
	only, err := split(f.only)
	if err != nil {
		return nil, err
	}
	skip, err := split(f.skip)
	if err != nil {
		return nil, err
	}
	var out []group
	for _, g := range groups {
		if (len(only) == 0 || slices.Contains(only, g.Name)) && !slices.Contains(skip, g.Name) {
			out = append(out, g)
		}
	}
	return out, nil
}

// run runs the selected groups and writes the results; a group that
// fails is reported and the others still run.
func run(ctx context.Context, f flags) error {
	gs, err := selected(f)
	if err != nil {
		return err
	}
	if f.runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	b, err := newBench(ctx, f)
	if err != nil {
		return err
	}
	defer b.c.Close()
	res := results{Started: time.Now(), Runs: f.runs}
	sampler := startLoadSampler()
	var failed []error
	for _, g := range gs {
		start := time.Now()
		if err := g.Run(b, ctx); err != nil {
			fmt.Fprintf(os.Stderr, "darn-bench: %s: %v\n", g.Name, err)
			failed = append(failed, fmt.Errorf("%s: %w", g.Name, err))
		}
		fmt.Fprintf(os.Stderr, "%-12s done in %s\n", g.Name, time.Since(start).Round(time.Second))
	}
	res.Duration = time.Since(res.Started).Seconds()
	res.Machine = machineInfo(ctx, b.c, sampler.stop())
	res.Rows = b.rows
	return errors.Join(append(failed, res.write(f.out))...)
}

// newBench connects to the bed's builder.
func newBench(ctx context.Context, f flags) (*bench, error) {
	if err := loadEnvFile(f.env); err != nil {
		return nil, err
	}
	bd, err := bedFromEnv()
	if err != nil {
		return nil, err
	}
	c, err := client.New(ctx, bd.BuildkitHost)
	if err != nil {
		return nil, fmt.Errorf("connecting to buildkitd at %s: %w", bd.BuildkitHost, err)
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return nil, err
	}
	return &bench{c: c, bed: bd, runs: f.runs, out: f.out, log: os.Stderr}, nil
}

// write prints the table and writes the JSON and the chart.
func (res results) write(out string) error {
	fmt.Println()
	res.printTable(os.Stdout)
	fmt.Printf("\n%d runs per measurement; the whole bench took %s; machine: %v\n",
		res.Runs, (time.Duration(res.Duration) * time.Second).Round(time.Second), res.Machine)
	jsonPath, pngPath := filepath.Join(out, "results.json"), filepath.Join(out, "results.png")
	if err := res.writeJSON(jsonPath); err != nil {
		return err
	}
	if err := res.writeChart(pngPath); err != nil {
		return err
	}
	fmt.Printf("wrote %s, %s and the timelines in %s\n", jsonPath, pngPath, filepath.Join(out, "timelines"))
	return nil
}

// printLayer measures one pushed image's last layer against its floor.
func printLayer(ctx context.Context, pair string) error {
	orig, patched, ok := strings.Cut(pair, ",")
	if !ok {
		return errors.New("-layer wants ORIGINAL,PATCHED")
	}
	ls, err := measureLayer(ctx, orig, patched, amd64)
	if err != nil {
		return err
	}
	dt, err := json.MarshalIndent(ls, "", "  ")
	if err != nil {
		return err
	}
	fmt.Printf("%s\nratio %.3f\n", dt, float64(ls.Bytes)/float64(ls.Floor))
	return nil
}

// replot prints the table of an earlier run and draws its chart again.
func replot(from, out string) error {
	dt, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	var res results
	if err := json.Unmarshal(dt, &res); err != nil {
		return fmt.Errorf("reading %s: %w", from, err)
	}
	return res.write(out)
}
