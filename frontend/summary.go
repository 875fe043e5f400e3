package frontend

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"

	"github.com/darn-dev/darn/plan"
)

// MetadataSummaryKey is the result metadata key holding a JSON list of
// [Summary], one per patched platform. BuildKit hands "frontend."-prefixed
// metadata back to the client in the solve response, so the summary reaches
// a client that ran darn as a frontend image too.
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
	// Kept is set for a platform of an index that was not patched (not
	// named by the "platform" option): it is exported as it was.
	Kept bool      `json:"kept,omitempty"`
	Plan plan.Plan `json:"plan"`
	// Changes lists every package whose version changed, planned or
	// pulled in as a dependency. Empty when there was nothing to patch.
	Changes []Change `json:"changes,omitempty"`
	// BelowFixed lists planned packages still below their fixed version,
	// kept because of ignore-errors.
	BelowFixed []plan.Item `json:"belowFixed,omitempty"`
}

// Change is one package version change in the patched image.
type Change struct {
	Name string `json:"name"`
	// From is empty for a package newly installed as a dependency.
	From string `json:"from,omitempty"`
	To   string `json:"to"`
	// Arch is the package's architecture ("amd64", "all").
	Arch string `json:"arch,omitempty"`
	// Planned is false for dependencies apt needed.
	Planned bool     `json:"planned"`
	Fixes   []string `json:"fixes,omitempty"`
}

// ShortfallError lists planned packages that stayed below their fixed
// version after the upgrade.
type ShortfallError struct {
	Packages []plan.Item
	Got      map[string]string
}

func (e *ShortfallError) Error() string {
	var b strings.Builder
	b.WriteString("packages below their fixed version after the upgrade:")
	for _, it := range e.Packages {
		fmt.Fprintf(&b, "\n  %s: have %q, need >= %s", it.Name, e.Got[it.Name], it.Fixed)
	}
	return b.String()
}

// verify checks that every planned upgrade reached its fixed version.
func verify(pl plan.Plan, after []plan.Package, cmp plan.Comparer) error {
	got := versions(after)
	short := &ShortfallError{Got: got}
	for _, it := range pl.Upgrades() {
		c, err := cmp.Compare(got[it.Name], it.Fixed)
		if err != nil || c < 0 {
			short.Packages = append(short.Packages, it)
		}
	}
	if len(short.Packages) > 0 {
		return short
	}
	return nil
}

// changes lists the packages whose installed version differs after.
func changes(pl plan.Plan, before, after []plan.Package) []Change {
	old := versions(before)
	planned := map[string]plan.Item{}
	for _, it := range pl.Upgrades() {
		planned[it.Name] = it
	}
	var out []Change
	for _, p := range after {
		if !p.Installed || old[p.Name] == p.Version {
			continue
		}
		it, ok := planned[p.Name]
		out = append(out, Change{Name: p.Name, From: old[p.Name], To: p.Version, Arch: p.Arch, Planned: ok, Fixes: it.Fixes})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// versions maps installed package names to versions.
func versions(pkgs []plan.Package) map[string]string {
	m := make(map[string]string, len(pkgs))
	for _, p := range pkgs {
		if p.Installed {
			m[p.Name] = p.Version
		}
	}
	return m
}

// addSummary attaches the per-platform summaries to the result.
func (p *patcher) addSummary(res interface{ AddMeta(string, []byte) }) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	sort.Slice(p.summaries, func(i, j int) bool { return p.summaries[i].Platform < p.summaries[j].Platform })
	dt, err := json.Marshal(p.summaries)
	if err != nil {
		return fmt.Errorf("marshalling summary: %w", err)
	}
	res.AddMeta(MetadataSummaryKey, dt)
	return nil
}

// warnPlan tells the user, through BuildKit's warnings, about reported
// packages the plan will not touch and why.
func (p *patcher) warnPlan(ctx context.Context, pp planned) {
	img, pl, rel, pln := pp.img, pp.summary.Platform, pp.db.release, pp.summary.Plan
	msgs := emptyReport(pp)
	if fam := pp.report.OS.Family; fam != "" && !rel.Is(fam) {
		msgs = append(msgs, fmt.Sprintf("the report is for %s %s but %s is %s %s", fam, pp.report.OS.Version, img.Ref, rel.ID, rel.VersionID))
	}
	byAction := map[plan.Action][]string{}
	for _, it := range pln.Items {
		byAction[it.Action] = append(byAction[it.Action], it.Name)
	}
	for _, a := range []plan.Action{plan.ActionNotInstalled, plan.ActionNoFix} {
		if names := byAction[a]; len(names) > 0 {
			msgs = append(msgs, fmt.Sprintf("%s (%s): %s", actionText(a), pl, strings.Join(names, ", ")))
		}
	}
	if len(msgs) == 0 {
		return
	}
	def, err := img.State.Marshal(ctx)
	if err != nil {
		return
	}
	dgst, err := def.Head()
	if err != nil {
		return
	}
	// A warning that cannot be delivered must not fail the patch.
	for _, m := range msgs {
		_ = p.c.Warn(ctx, dgst, m, gwclient.WarnOpts{Level: 1})
	}
}

// emptyReport says why a report leads to nothing to patch when it names no
// vulnerability in an OS package: a clean image's report is valid, but a
// user who passed the wrong file should learn so.
func emptyReport(pp planned) []string {
	if pp.reportFile == "" || pp.report.Findings() > 0 {
		return nil
	}
	if n := pp.report.OtherFindings; n > 0 {
		return []string{fmt.Sprintf("report %s lists %d vulnerabilities, none in OS packages (darn patches OS packages only): nothing to patch", pp.reportFile, n)}
	}
	return []string{fmt.Sprintf("report %s lists no vulnerabilities: nothing to patch", pp.reportFile)}
}

// actionText says in words why a package is left alone.
func actionText(a plan.Action) string {
	switch a {
	case plan.ActionNotInstalled:
		return "reported but not installed, skipped"
	case plan.ActionNoFix:
		return "no fix available yet"
	default:
		return string(a)
	}
}
