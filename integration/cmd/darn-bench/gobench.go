package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The parsers' benchmarks are the module's Go benchmarks (`go test
// -bench`), run -count times so that each gets a median like the patches.

// benchFunc finds a benchmark in a test file.
var benchFunc = regexp.MustCompile(`(?m)^func Benchmark\w+\(b \*testing\.B\)`)

// benchPackages lists the module's packages that have benchmarks, as
// ./relative paths; tools/ (modules of their own), testdata and hidden
// directories (the bed's caches) are left out.
func benchPackages(root string) ([]string, error) {
	fsys := os.DirFS(root)
	seen := map[string]bool{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && p != "." && (strings.HasPrefix(name, ".") || name == "tools" || name == "testdata" || name == "bin") {
			return fs.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		dt, err := fs.ReadFile(fsys, p)
		if err == nil && benchFunc.Match(dt) {
			seen["./"+path.Dir(p)] = true
		}
		return err
	})
	pkgs := make([]string, 0, len(seen))
	for p := range seen {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	return pkgs, err
}

// goBench runs the benchmarks of pkgs count times and parses the output.
func (b *bench) goBench(ctx context.Context) error {
	pkgs, err := benchPackages(".")
	if err != nil {
		return err
	}
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", strconv.Itoa(b.runs)}, pkgs...)
	fmt.Fprintf(b.log, "parsers      go %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go test -bench: %w\n%s%s", err, out, stderr.Bytes())
	}
	if err := os.WriteFile(filepath.Join(b.out, "gobench.txt"), out, 0o644); err != nil {
		return err
	}
	b.add(parseGoBench(out)...)
	return nil
}

// benchLine is one result line of `go test -bench -benchmem`.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// benchAcc gathers one benchmark's results over the runs.
type benchAcc struct {
	pkg, name string
	metrics   map[string][]float64
}

// parseGoBench reads the benchmark lines, by package, into rows: ns/op
// per run and the medians of B/op, allocs/op and MB/s in the detail.
func parseGoBench(out []byte) []row {
	var order []*benchAcc
	by := map[string]*benchAcc{}
	pkg := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/darn-dev/darn/")
			continue
		}
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		a, ok := by[pkg+" "+m[1]]
		if !ok {
			a = &benchAcc{pkg: pkg, name: m[1], metrics: map[string][]float64{}}
			by[pkg+" "+m[1]] = a
			order = append(order, a)
		}
		for unit, v := range benchMetrics(m[2]) {
			a.metrics[unit] = append(a.metrics[unit], v)
		}
	}
	rows := make([]row, 0, len(order))
	for _, a := range order {
		rows = append(rows, a.row())
	}
	return rows
}

// row is the benchmark's row: ns/op per run, the other metrics' medians.
func (a *benchAcc) row() row {
	r := row{Group: "parsers", Name: a.pkg + " " + strings.TrimPrefix(a.name, "Benchmark"), Unit: "ns/op", Runs: a.metrics["ns/op"], Detail: map[string]any{}}
	for unit, xs := range a.metrics {
		if unit != "ns/op" {
			r.Detail[unit] = median(xs)
		}
	}
	return r
}

// benchMetrics reads "123 ns/op  4.5 MB/s  67 B/op  8 allocs/op".
func benchMetrics(s string) map[string]float64 {
	out := map[string]float64{}
	f := strings.Fields(s)
	for i := 0; i+1 < len(f); i += 2 {
		if v, err := strconv.ParseFloat(f[i], 64); err == nil {
			out[f[i+1]] = v
		}
	}
	return out
}
