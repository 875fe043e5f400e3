package frontend

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"

	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/report"
)

// errNoReport is returned when the named context "report" is missing.
var errNoReport = errors.New(`no report: pass the report's directory as the named context "report" ` +
	`(buildctl --local report=DIR --opt context:report=local:report; buildx --build-context report=DIR)`)

// loadReports reads the report option's path from the named context
// "report": one file, or a directory whose *.json files are one report per
// platform. Only that path is transferred.
func loadReports(ctx context.Context, c gwclient.Client, bc *dockerui.Client, file string) ([]patch.NamedReport, error) {
	ref, err := reportContextRef(ctx, c, bc, file)
	if err != nil {
		return nil, err
	}
	st, err := ref.StatFile(ctx, gwclient.StatRequest{Path: file})
	if err != nil {
		return nil, fmt.Errorf("reading report %s: %w", file, err)
	}
	files := []string{file}
	if st.IsDir() {
		if files, err = reportFiles(ctx, ref, file); err != nil {
			return nil, err
		}
	}
	reports := make([]patch.NamedReport, 0, len(files))
	for _, f := range files {
		dt, err := readFile(ctx, ref, f, MaxReportSize)
		if err != nil {
			return nil, fmt.Errorf("reading report %s: %w", f, err)
		}
		r, err := report.Parse(dt)
		if err != nil {
			return nil, fmt.Errorf("reading report %s: %w", f, err)
		}
		reports = append(reports, patch.NamedReport{File: f, Report: r})
	}
	return reports, nil
}

// reportFiles lists the *.json files directly in a report directory.
func reportFiles(ctx context.Context, ref gwclient.Reference, dir string) ([]string, error) {
	entries, err := ref.ReadDir(ctx, gwclient.ReadDirRequest{Path: dir, IncludePattern: "*.json"})
	if err != nil {
		return nil, fmt.Errorf("reading report directory %s: %w", dir, err)
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() {
			files = append(files, path.Join(dir, e.Path))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("reading report directory %s: no *.json file in it", dir)
	}
	sort.Strings(files)
	return files, nil
}

// reportContextRef solves the named context "report", limited to path.
func reportContextRef(ctx context.Context, c gwclient.Client, bc *dockerui.Client, file string) (gwclient.Reference, error) {
	nc, err := bc.NamedContext(patch.ReportContext, dockerui.ContextOpt{
		// Exactly the named path is read: a .dockerignore has no say.
		NoDockerignore: true,
		AsyncLocalOpts: func() []llb.LocalOption {
			return []llb.LocalOption{llb.FollowPaths([]string{file})}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("loading report context: %w", err)
	}
	if nc == nil {
		return nil, errNoReport
	}
	st, _, err := nc.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading report context: %w", err)
	}
	ref, err := solveState(ctx, c, *st)
	if err != nil {
		return nil, fmt.Errorf("loading report context: %w", err)
	}
	return ref, nil
}
