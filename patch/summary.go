package patch

import (
	"bytes"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/plan"
	"github.com/darn-dev/darn/policy/rules"
	"github.com/darn-dev/darn/vex"
)

// MetadataSummaryKey is the result metadata key holding a JSON list of
// Summary, one per platform. BuildKit hands "frontend."-prefixed metadata
// back to the client in the solve response, so the summary reaches a
// client that ran darn as a frontend image too.
const MetadataSummaryKey = "frontend.darn.summary"

// Summary is what darn planned and did for one platform.
type Summary struct {
	Platform string `json:"platform"`
	Image    string `json:"image"`
	Digest   string `json:"digest"`
	OS       string `json:"os"`
	// ToolingImage and ToolingDigest name the tooling image that patches
	// an image without a package manager; empty otherwise.
	ToolingImage  string `json:"toolingImage,omitempty"`
	ToolingDigest string `json:"toolingDigest,omitempty"`
	// Original names the original image, pinned, when the image was
	// patched by darn before and the patch started again from it.
	Original string `json:"original,omitempty"`
	// Stacked says why the new layer goes on top of darn's earlier one,
	// when the image was patched by darn before and could not be patched
	// again from its original.
	Stacked string `json:"stacked,omitempty"`
	// Kept is set for a platform of an index that was not patched (not
	// named by the "platform" option): it is exported as it was.
	Kept bool      `json:"kept,omitempty"`
	Plan plan.Plan `json:"plan"`
	// Changes lists every package whose version changed, planned or
	// pulled in as a dependency. Empty when there was nothing to patch.
	Changes []plan.Change `json:"changes,omitempty"`
	// BelowFixed lists planned packages still below their fixed version,
	// kept because of ignore-errors.
	BelowFixed []plan.Item `json:"belowFixed,omitempty"`
	// LeftOut lists what the patch policy left out, package or single
	// vulnerability, each with its rule.
	LeftOut []rules.LeftOut `json:"leftOut,omitempty"`
	// Unfixable lists the vulnerabilities at or above the policy's floor
	// with no fix ("PACKAGE ID SEVERITY"), when a policy is set.
	Unfixable []string `json:"unfixable,omitempty"`
	// EOL is the release's end-of-life status.
	EOL *distros.EOL `json:"eol,omitempty"`
}

// Fixed lists the vulnerabilities the summary's platform verified fixed:
// only planned upgrades carry fixes, and ignore-errors already took out
// the packages that fell short.
func (s Summary) Fixed() []vex.Fixed {
	var changes []vex.PackageChange
	for _, c := range s.Changes {
		if c.Planned && len(c.Fixes) > 0 {
			changes = append(changes, vex.PackageChange{Name: c.Name, To: c.To, PURL: c.PURL, Fixes: c.Fixes})
		}
	}
	return vex.FromChanges(changes)
}

// PlanText renders plans as a table per platform (--call plan).
func PlanText(sums []Summary) []byte {
	var b bytes.Buffer
	for _, s := range sums {
		if s.Kept {
			fmt.Fprintf(&b, "%s %s: kept as it is (not a platform to patch)\n", s.Platform, s.Image)
			continue
		}
		fmt.Fprintf(&b, "%s (%s) %s@%s\n", s.Platform, s.OS, s.Image, s.Digest)
		if s.EOL != nil && s.EOL.Status != distros.EOLUnknown {
			fmt.Fprintf(&b, "  end of life: %s %s\n", s.EOL.Status, s.EOL.Date)
		}
		tw := tabwriter.NewWriter(&b, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "  PACKAGE\tINSTALLED\tFIXED\tACTION\tVULNERABILITIES / REASON")
		for _, it := range s.Plan.Items {
			ids := strings.Join(append(append([]string(nil), it.Fixes...), it.Unfixed...), " ")
			if it.Reason != "" {
				ids = it.Reason
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", it.Name, dash(it.Installed), dash(it.Fixed), it.Action, ids)
		}
		_ = tw.Flush()
	}
	return b.Bytes()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Warnings are what a user should learn about one platform's plan before
// the upgrade: a report that lists nothing darn can patch, a report of
// another OS, and reported packages the plan leaves alone and why.
func (in Inspection) Warnings(r NamedReport, p plan.Plan, image, platform string) []string {
	msgs := emptyReport(r)
	if fam := r.Report.OS.Family; fam != "" && !in.Release.Is(fam) {
		msgs = append(msgs, fmt.Sprintf("the report is for %s %s but %s is %s %s", fam, r.Report.OS.Version, image, in.Release.ID, in.Release.VersionID))
	}
	byAction := map[plan.Action][]string{}
	for _, it := range p.Items {
		byAction[it.Action] = append(byAction[it.Action], it.Name)
	}
	for _, a := range []plan.Action{plan.ActionNotInstalled, plan.ActionNoFix, plan.ActionLeftOut} {
		if names := byAction[a]; len(names) > 0 {
			msgs = append(msgs, fmt.Sprintf("%s (%s): %s", actionText(a), platform, strings.Join(names, ", ")))
		}
	}
	return msgs
}

// emptyReport says why a report leads to nothing to patch when it names no
// vulnerability in an OS package: a clean image's report is valid, but a
// user who passed the wrong file should learn so.
func emptyReport(r NamedReport) []string {
	if r.File == "" || r.Report.Findings() > 0 {
		return nil
	}
	if n := r.Report.OtherFindings; n > 0 {
		return []string{fmt.Sprintf("report %s lists %d vulnerabilities, none in OS packages (darn patches OS packages only): nothing to patch", r.File, n)}
	}
	return []string{fmt.Sprintf("report %s lists no vulnerabilities: nothing to patch", r.File)}
}

// actionText says in words why a package is left alone.
func actionText(a plan.Action) string {
	switch a {
	case plan.ActionNotInstalled:
		return "reported but not installed, skipped"
	case plan.ActionNoFix:
		return "no fix available yet"
	case plan.ActionLeftOut:
		return "left out by the patch policy (the plan names each rule)"
	default:
		return string(a)
	}
}
