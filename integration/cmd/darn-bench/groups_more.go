package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/darn-dev/darn/integration/testreport"
)

// nothing is a patch with nothing to do: a report whose every fix the
// image already has (each fixed version is the installed one), and an
// empty Trivy report. Both run with the image in the builder's cache,
// after one untimed run; the first is also run cold, for information.
func (b *bench) nothing(ctx context.Context) error {
	cands, rel, err := b.testInputs(ctx)
	if err != nil {
		return err
	}
	fixed := make([]testreport.Candidate, len(cands))
	for i, c := range cands {
		fixed[i] = c
		fixed[i].Candidate = c.Installed
	}
	for _, v := range []struct {
		name  string
		cands []testreport.Candidate
	}{{"already fixed", fixed}, {"empty report", nil}} {
		rep, err := testreport.TrivyJSON(b.bed.Test, rel, v.cands)
		if err != nil {
			return err
		}
		job, err := b.imageJob("nothing", b.bed.Test, rep)
		if err != nil {
			return err
		}
		if err := b.nothingRuns(ctx, v.name, job, v.name == "already fixed"); err != nil {
			return err
		}
	}
	return nil
}

// nothingRuns times a patch with nothing to do, warm and, when cold is
// set, after a prune; it fails when darn patched anything.
func (b *bench) nothingRuns(ctx context.Context, name string, job patchJob, cold bool) error {
	if _, err := runDarn(ctx, b.c, job); err != nil {
		return err
	}
	var warm, coldRuns []solveRun
	for i := range b.runs {
		run, err := b.darn(ctx, "nothing", slug(name), i, job)
		if err == nil && len(changesOf(run.Summaries)) > 0 {
			err = fmt.Errorf("nothing to do, yet darn changed %v", changeList(run.Summaries))
		}
		if err != nil {
			return err
		}
		warm = append(warm, run)
		if !cold {
			continue
		}
		if err := prune(ctx, b.c); err != nil {
			return err
		}
		if run, err = b.darn(ctx, "nothing", slug(name)+"-cold", i, job); err != nil {
			return err
		}
		coldRuns = append(coldRuns, run)
	}
	r := timeRow("nothing", name, warm, aptInImage)
	r.Target = "abs<=1"
	b.add(r)
	if cold {
		b.add(timeRow("nothing", name+", cold", coldRuns, aptInImage))
	}
	return nil
}

// slug makes a name usable in a file name.
func slug(s string) string {
	return strings.ReplaceAll(s, " ", "-")
}

// multi is the bed's two-platform index patched whole (both platforms,
// concurrently, each from its own report), against each platform patched
// alone; all cold. The arm64 platform runs its package manager under
// emulation, as any cross-platform build step does.
func (b *bench) multi(ctx context.Context) error {
	cands, rel, err := testreport.Upgradable(ctx, b.c, b.bed.Multi)
	if err != nil {
		return err
	}
	reports := map[string][]byte{}
	for _, p := range b.bed.MultiPlatforms {
		arch := p[strings.LastIndex(p, "/")+1:]
		if reports[arch+".json"], err = testreport.TrivyJSONForArch(b.bed.Multi, arch, rel, cands); err != nil {
			return err
		}
	}
	whole, err := b.imageJob("multi", b.bed.Multi, nil)
	if err != nil {
		return err
	}
	whole.Reports = reports
	var all []solveRun
	single := make([][]solveRun, len(b.bed.MultiPlatforms))
	for i := range b.runs {
		run, err := b.coldRun(ctx, "multi", "two-platforms", i, whole)
		if err != nil {
			return err
		}
		all = append(all, run)
		for j, p := range b.bed.MultiPlatforms {
			one := whole
			one.Options.BuildKit.Platform = p
			one.Tag = b.bed.tag("multi", "patched-"+strings.ReplaceAll(p, "/", "-"))
			if run, err = b.coldRun(ctx, "multi", "only-"+strings.ReplaceAll(p, "/", "-"), i, one); err != nil {
				return err
			}
			single[j] = append(single[j], run)
		}
	}
	b.multiRows(all, single)
	return nil
}

// coldRun prunes and patches once.
func (b *bench) coldRun(ctx context.Context, group, name string, i int, job patchJob) (solveRun, error) {
	if err := prune(ctx, b.c); err != nil {
		return solveRun{}, err
	}
	return b.darn(ctx, group, name, i, job)
}

// multiRows compares the whole index with its slowest platform alone,
// run by run: the floor of a concurrent patch is its slowest part.
func (b *bench) multiRows(all []solveRun, single [][]solveRun) {
	whole := timeRow("multi", "two platforms, cold", all, aptInImage)
	whole.Phases = nil
	for i := range all {
		slowest := 0.0
		for _, runs := range single {
			slowest = max(slowest, runs[i].Wall.Seconds())
		}
		whole.FloorRuns = append(whole.FloorRuns, slowest)
	}
	whole.Detail = map[string]any{"floor": "the slowest platform patched alone, cold, in the same round", "steps": stepTimes(all)}
	b.add(whole)
	for j, p := range b.bed.MultiPlatforms {
		r := timeRow("multi", p+" alone, cold", single[j], aptInImage)
		b.add(r)
	}
}

// stepTimes are the median durations of each platform's upgrade step in
// the whole-index runs.
func stepTimes(runs []solveRun) map[string]float64 {
	by := map[string][]float64{}
	for _, run := range runs {
		for _, v := range run.TL.find(darnUpgrade.MatchString) {
			if !v.Cached && !v.Completed.IsZero() {
				key := v.Name[:strings.Index(v.Name, "]")+1]
				by[key] = append(by[key], v.Completed.Sub(v.Started).Seconds())
			}
		}
	}
	out := map[string]float64{}
	for k, xs := range by {
		out[k] = median(xs)
	}
	return out
}
