package patch

import (
	"fmt"
	"strings"

	"github.com/containerd/platforms"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/report"
)

// NamedReport is a parsed report and the file it came from.
type NamedReport struct {
	File   string
	Report report.Report
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

// AssignReports maps every platform to patch (by its formatted name) to
// its report. A lone report serves a lone platform whatever it records
// (CheckReportArch checks it against the image's own architecture); otherwise
// each platform takes the one report whose architecture metadata matches.
// File names play no part: scanners name files as users like.
func AssignReports(reports []NamedReport, pls []ocispecs.Platform) (map[string]NamedReport, error) {
	out := make(map[string]NamedReport, len(pls))
	if len(reports) == 1 && len(pls) == 1 {
		out[PlatformKey(pls[0])] = reports[0]
		return out, nil
	}
	for _, pl := range pls {
		var matches []string
		for _, r := range reports {
			if reportMatches(r.Report, pl) {
				matches = append(matches, r.File)
				out[PlatformKey(pl)] = r
			}
		}
		if len(matches) != 1 {
			return nil, &ReportMatchError{Platform: PlatformKey(pl), Matches: matches, Reports: describeReports(reports)}
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
func describeReports(reports []NamedReport) []string {
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

// CheckReportArch fails when a lone report records an architecture other
// than the image's: a report of another platform would plan the wrong
// packages.
func CheckReportArch(r NamedReport, cfg ocispecs.Platform) error {
	if r.Report.Architecture == "" || reportMatches(r.Report, cfg) {
		return nil
	}
	return fmt.Errorf("report %s is for %s, the image is %s", r.File, reportArch(r.Report), FormatPlatform(cfg))
}
