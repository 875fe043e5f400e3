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
	"github.com/darn-dev/darn/policy/rules"
	"github.com/darn-dev/darn/report"
)

// errNoReport is returned when the named context "report" is missing.
var errNoReport = errors.New(`no report: pass the report's directory as the named context "report" ` +
	`(buildctl --local report=DIR --opt context:report=local:report; buildx --build-context report=DIR)`)

// loadReports reads the report option's path from the named context
// "report": one file, or a directory whose *.json files are one report per
// platform. Only that path is transferred.
func loadReports(ctx context.Context, c gwclient.Client, bc *dockerui.Client, file string) ([]patch.NamedReport, error) {
	ref, err := contextRef(ctx, c, bc, patch.ReportContext, file, errNoReport)
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

// errNoPolicy is returned when the policy option is set but the named
// context "policy" is missing.
var errNoPolicy = errors.New(`no policy context: pass the policy file's directory as the named context "policy" ` +
	`(buildctl --local policy=DIR --opt context:policy=local:policy --opt policy=FILE; buildx --build-context policy=DIR)`)

// loadPolicy reads and parses the patch policy file from the named
// context "policy".
func loadPolicy(ctx context.Context, c gwclient.Client, bc *dockerui.Client, file string) (*rules.Policy, error) {
	ref, err := contextRef(ctx, c, bc, patch.PolicyContext, file, errNoPolicy)
	if err != nil {
		return nil, err
	}
	dt, err := readFile(ctx, ref, file, MaxReportSize)
	if err != nil {
		return nil, fmt.Errorf("reading policy %s: %w", file, err)
	}
	pol, err := rules.Parse(file, dt)
	if err != nil {
		return nil, fmt.Errorf("reading policy: %w", err)
	}
	return &pol, nil
}

// contextRef solves a named context, limited to path; missing is the
// error when the client passed no such context.
func contextRef(ctx context.Context, c gwclient.Client, bc *dockerui.Client, name, file string, missing error) (gwclient.Reference, error) {
	nc, err := bc.NamedContext(name, dockerui.ContextOpt{
		// Exactly the named path is read: a .dockerignore has no say.
		NoDockerignore: true,
		AsyncLocalOpts: func() []llb.LocalOption {
			return []llb.LocalOption{llb.FollowPaths([]string{file})}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("loading %s context: %w", name, err)
	}
	if nc == nil {
		return nil, missing
	}
	st, _, err := nc.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading %s context: %w", name, err)
	}
	ref, err := solveState(ctx, c, *st)
	if err != nil {
		return nil, fmt.Errorf("loading %s context: %w", name, err)
	}
	return ref, nil
}
