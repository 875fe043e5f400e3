package frontend

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerui"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/report"
)

// errNoReport is returned when the named context "report" is missing.
var errNoReport = errors.New(`no report: pass the report's directory as the named context "report" ` +
	`(buildctl --local report=DIR --opt context:report=local:report; buildx --build-context report=DIR)`)

// namedReport is a parsed report and the file it came from.
type namedReport struct {
	File   string
	Report report.Report
}

// loadReports reads the report option's path from the named context
// "report": one file, or a directory whose *.json files are one report per
// platform. Only that path is transferred.
func loadReports(ctx context.Context, c gwclient.Client, bc *dockerui.Client, file string) ([]namedReport, error) {
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
	reports := make([]namedReport, 0, len(files))
	for _, f := range files {
		dt, err := readFile(ctx, ref, f, MaxReportSize)
		if err != nil {
			return nil, fmt.Errorf("reading report %s: %w", f, err)
		}
		r, err := report.Parse(dt)
		if err != nil {
			return nil, fmt.Errorf("reading report %s: %w", f, err)
		}
		reports = append(reports, namedReport{File: f, Report: r})
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
	nc, err := bc.NamedContext(reportContext, dockerui.ContextOpt{
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

// ReportMatchError says that the reports do not map one to one onto the
// platforms to patch.
type ReportMatchError struct {
	// Platform is the platform without (or with more than one) report.
	Platform string
	// Matches names the reports that matched it; empty for none.
	Matches []string
	// Reports describes every report read, as "FILE (ARCH)".
	Reports []string
}

func (e *ReportMatchError) Error() string {
	if len(e.Matches) > 1 {
		return fmt.Sprintf("more than one report for %s: %s", e.Platform, strings.Join(e.Matches, ", "))
	}
	return fmt.Sprintf("no report for %s among %s: give one report per platform, matched by the architecture "+
		"the scanner recorded (a directory of reports), or patch only some platforms (--platform)",
		e.Platform, strings.Join(e.Reports, ", "))
}

// assignReports maps every platform to patch (by its formatted name) to
// its report. A lone report serves a lone platform whatever it records
// (planPlatform checks it against the image's own architecture); otherwise
// each platform takes the one report whose architecture metadata matches.
// File names play no part: scanners name files as users like.
func assignReports(reports []namedReport, pls []ocispecs.Platform) (map[string]namedReport, error) {
	out := make(map[string]namedReport, len(pls))
	if len(reports) == 1 && len(pls) == 1 {
		out[platformKey(pls[0])] = reports[0]
		return out, nil
	}
	for _, pl := range pls {
		var matches []string
		for _, r := range reports {
			if reportMatches(r.Report, pl) {
				matches = append(matches, r.File)
				out[platformKey(pl)] = r
			}
		}
		if len(matches) != 1 {
			return nil, &ReportMatchError{Platform: platformKey(pl), Matches: matches, Reports: describeReports(reports)}
		}
	}
	return out, nil
}

// reportMatches says whether a report's recorded architecture (and
// variant, where both name one) is the platform's.
func reportMatches(r report.Report, pl ocispecs.Platform) bool {
	if r.Architecture == "" {
		return false
	}
	got := platforms.Normalize(ocispecs.Platform{OS: pl.OS, Architecture: r.Architecture, Variant: r.Variant})
	want := platforms.Normalize(pl)
	if got.Architecture != want.Architecture {
		return false
	}
	return got.Variant == "" || want.Variant == "" || got.Variant == want.Variant
}

// describeReports renders reports as "FILE (ARCH)" for error messages.
func describeReports(reports []namedReport) []string {
	out := make([]string, 0, len(reports))
	for _, r := range reports {
		out = append(out, fmt.Sprintf("%s (%s)", r.File, reportArch(r.Report)))
	}
	return out
}

// reportArch renders the architecture a report records.
func reportArch(r report.Report) string {
	switch {
	case r.Architecture == "":
		return "no architecture recorded"
	case r.Variant != "":
		return r.Architecture + "/" + r.Variant
	}
	return r.Architecture
}

// checkReportArch fails when a lone report records an architecture other
// than the image's: a report of another platform would plan the wrong
// packages.
func checkReportArch(r namedReport, cfg ocispecs.Platform) error {
	if r.Report.Architecture == "" || reportMatches(r.Report, cfg) {
		return nil
	}
	return fmt.Errorf("report %s is for %s, the image is %s", r.File, reportArch(r.Report), formatPlatform(cfg))
}
