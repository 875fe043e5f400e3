package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"

	"github.com/darn-dev/darn/patch"
)

// bench is one run of the suite: the builder, the bed, how many runs
// each measurement takes, where the output goes, and the rows so far.
type bench struct {
	c    *client.Client
	bed  bed
	runs int
	out  string
	log  io.Writer
	rows []row
	// inputs caches what several groups derive from the bed's images.
	inputs inputs
}

// series is a group's cold patch, warm re-patch, layer and floor.
type series struct {
	Group string
	Job   patchJob
	// Kind splits darn's step; Original is the image the patch layer is
	// compared with; Platform the platform read from the registry.
	Kind     stepKind
	Original string
	Platform string
	// Floor builds the floor from darn's summary of a cold run; nil when
	// the group has none. FloorKind splits it.
	Floor     func([]patch.Summary) (llb.State, error)
	FloorKind stepKind
	// ColdTarget is the cold row's target ("ratio<=1.3"), if any.
	ColdTarget string
}

// seriesRuns are the runs of one series.
type seriesRuns struct {
	cold, warm, floor []solveRun
	layers            []layerInfo
	summaries         []patch.Summary
}

// layerInfo is the patch layer a cold run pushed.
type layerInfo struct {
	Digest string
	Size   int64
}

// runSeries runs a series b.runs times. Darn and its floor alternate
// which goes first, so that the mirror's and the machine's moods weigh on
// both alike; the floor needs darn's first summary, so darn starts.
func (b *bench) runSeries(ctx context.Context, s series) error {
	var sr seriesRuns
	for i := range b.runs {
		floorFirst := s.Floor != nil && i%2 == 1
		if floorFirst {
			if err := b.floorOnce(ctx, s, &sr, i); err != nil {
				return err
			}
		}
		if err := b.darnColdWarm(ctx, s, &sr, i); err != nil {
			return err
		}
		if s.Floor != nil && !floorFirst {
			if err := b.floorOnce(ctx, s, &sr, i); err != nil {
				return err
			}
		}
	}
	return b.seriesRows(ctx, s, sr)
}

// darnColdWarm prunes, patches cold, then patches again with identical
// inputs (warm), and records the layer the cold run pushed.
func (b *bench) darnColdWarm(ctx context.Context, s series, sr *seriesRuns, i int) error {
	if err := prune(ctx, b.c); err != nil {
		return err
	}
	cold, err := b.darn(ctx, s.Group, "cold", i, s.Job)
	if err != nil {
		return err
	}
	sr.cold = append(sr.cold, cold)
	if sr.summaries == nil {
		sr.summaries = cold.Summaries
	}
	img, err := fetchImage(ctx, s.Job.Tag, s.Platform)
	if err != nil {
		return err
	}
	if n := len(img.Manifest.Layers); n > 0 {
		l := img.Manifest.Layers[n-1]
		sr.layers = append(sr.layers, layerInfo{Digest: l.Digest.String(), Size: l.Size})
	}
	warm, err := b.darn(ctx, s.Group, "warm", i, s.Job)
	sr.warm = append(sr.warm, warm)
	return err
}

// floorOnce prunes and runs the floor once.
func (b *bench) floorOnce(ctx context.Context, s series, sr *seriesRuns, i int) error {
	st, err := s.Floor(sr.summaries)
	if err != nil {
		return err
	}
	if err := prune(ctx, b.c); err != nil {
		return err
	}
	run, err := runFloor(ctx, b.c, st, b.bed.tag(s.Group, "floor"))
	b.record(s.Group, "floor", i, run)
	if err != nil {
		return err
	}
	sr.floor = append(sr.floor, run)
	return nil
}

// darn runs one patch and records it.
func (b *bench) darn(ctx context.Context, group, name string, i int, job patchJob) (solveRun, error) {
	run, err := runDarn(ctx, b.c, job)
	b.record(group, name, i, run)
	return run, err
}

// record logs a run and writes its timeline under the output directory,
// the evidence behind each phase.
func (b *bench) record(group, name string, i int, run solveRun) {
	fmt.Fprintf(b.log, "%-12s %-22s run %d/%d: %6.2f s\n", group, name, i+1, b.runs, run.Wall.Seconds())
	if run.TL == nil {
		return
	}
	dir := filepath.Join(b.out, "timelines")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%s-%d.txt", group, name, i+1)))
	if err != nil {
		return
	}
	defer f.Close()
	run.TL.dump(f)
}

// seriesRows turns a series' runs into its cold, warm and layer rows.
func (b *bench) seriesRows(ctx context.Context, s series, sr seriesRuns) error {
	cold := timeRow(s.Group, "cold patch", sr.cold, s.Kind)
	cold.Target = s.ColdTarget
	if len(sr.floor) > 0 {
		f := timeRow(s.Group, "floor", sr.floor, s.FloorKind)
		cold.FloorRuns, cold.FloorPhases = f.Runs, f.Phases
	}
	cold.Detail = map[string]any{"changes": changeList(sr.summaries)}
	warm := timeRow(s.Group, "warm re-patch", sr.warm, s.Kind)
	warm.Target = "abs<=1"
	layer, err := b.layerRow(ctx, s, sr.layers)
	if err != nil {
		return err
	}
	b.add(cold, warm, layer)
	return nil
}

// layerRow compares the pushed patch layer with its changed-content
// floor. The layer is the same on every run when darn is reproducible;
// the detail says how many distinct layers the cold runs pushed.
func (b *bench) layerRow(ctx context.Context, s series, layers []layerInfo) (row, error) {
	ls, err := measureLayer(ctx, s.Original, s.Job.Tag, s.Platform)
	if err != nil {
		return row{}, fmt.Errorf("measuring the patch layer of %s: %w", s.Job.Tag, err)
	}
	r := row{Group: s.Group, Name: "patch layer", Unit: "B", Target: "ratio<=1.05", FloorRuns: []float64{float64(ls.Floor)}}
	distinct := map[string]bool{}
	for _, l := range layers {
		r.Runs = append(r.Runs, float64(l.Size))
		distinct[l.Digest] = true
	}
	r.Detail = map[string]any{"layer": ls, "distinctLayers": len(distinct)}
	return r, nil
}

// timeRow is a row of wall times with the median of each phase.
func timeRow(group, name string, runs []solveRun, kind stepKind) row {
	r := row{Group: group, Name: name, Unit: "s"}
	var phases [][]phase
	for _, run := range runs {
		r.Runs = append(r.Runs, run.Wall.Seconds())
		if run.TL != nil {
			phases = append(phases, kind.phases(run.TL))
		}
	}
	r.Phases = medianPhases(phases)
	return r
}

// add judges rows and keeps them.
func (b *bench) add(rows ...row) {
	for _, r := range rows {
		r.judge()
		b.rows = append(b.rows, r)
	}
}

// changeList lists the packages a patch changed, "name from -> to".
func changeList(sums []patch.Summary) []string {
	var out []string
	for _, s := range sums {
		for _, c := range s.Changes {
			out = append(out, fmt.Sprintf("%s %s: %s -> %s", s.Platform, c.Name, c.From, c.To))
		}
	}
	return out
}
