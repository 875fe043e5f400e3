package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/buildkit/client"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"

	"github.com/darn-dev/darn/frontend"
	"github.com/darn-dev/darn/patch"
)

// patchJob is one patch by darn: its frontend run in-process through
// BuildKit's client, as the docker-patch plugin runs it, pushing the
// result to the bed's registry.
type patchJob struct {
	Options patch.Options
	// Reports are the report files by name; one file is "report.json",
	// several are a directory (ReportFile ".").
	Reports map[string][]byte
	Policy  *spb.Policy
	Tag     string
}

// solveRun is what one solve gave: its wall time, its progress, and, for
// darn, the frontend's summary.
type solveRun struct {
	Wall      time.Duration
	TL        *timeline
	Summaries []patch.Summary
}

// runDarn patches once and records the progress stream.
func runDarn(ctx context.Context, c *client.Client, job patchJob) (solveRun, error) {
	dir, err := writeReports(job.Reports)
	if err != nil {
		return solveRun{}, err
	}
	defer os.RemoveAll(dir)
	opt, err := job.solveOpt(dir)
	if err != nil {
		return solveRun{}, err
	}
	var summary []byte
	build := func(ctx context.Context, gc gwclient.Client) (*gwclient.Result, error) {
		res, err := frontend.Build(ctx, gc)
		if res != nil {
			summary = res.Metadata[patch.MetadataSummaryKey]
		}
		return res, err
	}
	run, err := solveWithProgress(ctx, func(ch chan *client.SolveStatus) error {
		_, err := c.Build(ctx, opt, "darn-bench", build, ch)
		return err
	})
	if err != nil {
		return run, fmt.Errorf("patching %s: %w", job.Options.Image, err)
	}
	if len(summary) > 0 {
		if err := json.Unmarshal(summary, &run.Summaries); err != nil {
			return run, fmt.Errorf("reading darn's summary: %w", err)
		}
	}
	return run, nil
}

// solveOpt is the solve of a job: the report directory as the local
// context "report", the options as frontend attributes, a push export.
func (job patchJob) solveOpt(dir string) (client.SolveOpt, error) {
	opts := job.Options
	locals := map[string]fsutil.FS{}
	if !opts.UpdateAll {
		fs, err := fsutil.NewFS(dir)
		if err != nil {
			return client.SolveOpt{}, err
		}
		locals[patch.ReportContext] = fs
		opts.ReportFile = patch.DefaultReportFile
		if len(job.Reports) > 1 {
			opts.ReportFile = "."
		}
	}
	return client.SolveOpt{
		Exports:       []client.ExportEntry{pushExport(job.Tag)},
		LocalMounts:   locals,
		FrontendAttrs: opts.Attrs(),
		SourcePolicy:  job.Policy,
	}, nil
}

// pushExport pushes an image to the bed's registry under tag.
func pushExport(tag string) client.ExportEntry {
	return client.ExportEntry{Type: client.ExporterImage, Attrs: map[string]string{"name": tag, "push": "true"}}
}

// writeReports writes the report files into a fresh directory.
func writeReports(reports map[string][]byte) (string, error) {
	dir, err := os.MkdirTemp("", "darn-bench-report")
	if err != nil {
		return "", err
	}
	for name, dt := range reports {
		if err := os.WriteFile(filepath.Join(dir, name), dt, 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// solveWithProgress runs a solve, timing it from the call to its return,
// and collects its progress stream.
func solveWithProgress(ctx context.Context, solve func(chan *client.SolveStatus) error) (solveRun, error) {
	tl := newTimeline()
	ch := make(chan *client.SolveStatus)
	var eg errgroup.Group
	eg.Go(func() error {
		tl.collect(ch)
		return nil
	})
	tl.Start = time.Now()
	err := solve(ch)
	tl.End = time.Now()
	_ = eg.Wait()
	if ctx.Err() != nil && err == nil {
		err = ctx.Err()
	}
	return solveRun{Wall: tl.End.Sub(tl.Start), TL: tl}, err
}

// prune empties the builder's cache, cache mounts included, for a cold run.
func prune(ctx context.Context, c *client.Client) error {
	if err := c.Prune(ctx, nil, client.PruneAll); err != nil {
		return fmt.Errorf("pruning the build cache: %w", err)
	}
	return nil
}
