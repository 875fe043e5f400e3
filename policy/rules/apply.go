package rules

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/darn-dev/darn/report"
)

// LeftOut is a package, or one vulnerability of it, that the policy left
// out, and the rule that did.
type LeftOut struct {
	Package string `json:"package"`
	// ID is the vulnerability left out; empty when the whole package is.
	ID   string `json:"id,omitempty"`
	Rule string `json:"rule"`
}

// Result is a report with the policy applied.
type Result struct {
	Report  report.Report
	LeftOut []LeftOut
	// Warnings say what the user must know: expired ignores.
	Warnings []string
	// Unfixable lists the vulnerabilities at or above the floor, not
	// ignored, that have no fix ("PACKAGE ID SEVERITY").
	Unfixable []string
	// FailOnUnfixable makes Unfixable an error.
	FailOnUnfixable bool
}

// For returns the rules that apply to an image: the defaults, overridden
// field by field by the first image rule whose pattern matches ref (the
// normalized reference, "docker.io/library/debian:12"; a pattern without a
// registry also matches the familiar name "debian:12").
func (p Policy) For(ref, familiar string) Set {
	s := p.Set
	for _, r := range p.Images {
		if ok, _ := path.Match(r.Match.Value, ref); ok || matchFamiliar(r.Match.Value, familiar) {
			return s.override(r.Set)
		}
	}
	return s
}

func matchFamiliar(pattern, familiar string) bool {
	ok, _ := path.Match(pattern, familiar)
	return familiar != "" && ok
}

// override returns s with o's set fields.
func (s Set) override(o Set) Set {
	if o.Severity != nil {
		s.Severity = o.Severity
	}
	if o.Include != nil {
		s.Include = o.Include
	}
	if o.Exclude != nil {
		s.Exclude = o.Exclude
	}
	if o.Ignore != nil {
		s.Ignore = o.Ignore
	}
	if o.FailOnUnfixable != nil {
		s.FailOnUnfixable = o.FailOnUnfixable
	}
	return s
}

// PackageRule says whether the package rules leave a package out (by its
// binary or source name), and which rule.
func (s Set) PackageRule(name, source string) (string, bool) {
	matches := func(g string) bool {
		a, _ := path.Match(g, name)
		b, _ := path.Match(g, source)
		return a || (source != "" && b)
	}
	for _, g := range s.Exclude {
		if matches(g.Value) {
			return g.describe("packages.exclude"), true
		}
	}
	if len(s.Include) > 0 && !slices.ContainsFunc(s.Include, func(g Rule[string]) bool { return matches(g.Value) }) {
		return fmt.Sprintf("%s: packages.include (no pattern matches %s)", s.Include[0].Pos, name), true
	}
	return "", false
}

// Apply applies the rules to a report at time now.
func (s Set) Apply(r report.Report, now time.Time) Result {
	res := Result{FailOnUnfixable: s.FailOnUnfixable != nil && s.FailOnUnfixable.Value}
	res.Warnings = s.expired(now)
	out := r
	out.Packages = nil
	for _, p := range r.Packages {
		if rule, left := s.PackageRule(p.Name, p.SourceName); left {
			res.LeftOut = append(res.LeftOut, LeftOut{Package: p.Name, Rule: rule})
			continue
		}
		kept, why := s.vulns(p, now, &res)
		if len(kept) == 0 {
			res.LeftOut = append(res.LeftOut, LeftOut{Package: p.Name, Rule: "every vulnerability left out: " + strings.Join(why, "; ")})
			continue
		}
		p.Vulnerabilities = kept
		out.Packages = append(out.Packages, p)
	}
	res.Report = out
	return res
}

// vulns keeps a package's vulnerabilities the rules take, recording the
// others, and the unfixable ones at or above the floor.
func (s Set) vulns(p report.Package, now time.Time, res *Result) ([]report.Vulnerability, []string) {
	var kept []report.Vulnerability
	var why []string
	for _, v := range p.Vulnerabilities {
		rule := s.vulnRule(v, now)
		if rule != "" {
			res.LeftOut = append(res.LeftOut, LeftOut{Package: p.Name, ID: v.ID, Rule: rule})
			if !slices.Contains(why, rule) {
				why = append(why, rule)
			}
			continue
		}
		if !v.Fixable() {
			res.Unfixable = append(res.Unfixable, fmt.Sprintf("%s %s %s", p.Name, v.ID, strings.ToLower(orUnknown(v.Severity))))
		}
		kept = append(kept, v)
	}
	return kept, why
}

// vulnRule names the rule that leaves a vulnerability out, or "".
func (s Set) vulnRule(v report.Vulnerability, now time.Time) string {
	for _, ig := range s.Ignore {
		if ig.ID.Value == v.ID && (ig.Expires.IsZero() || now.Before(ig.Expires.AddDate(0, 0, 1))) {
			return fmt.Sprintf("%s: ignore %s (%s)", ig.ID.Pos, v.ID, ig.Reason)
		}
	}
	if s.Severity != nil && report.SeverityRank(v.Severity) < report.SeverityRank(s.Severity.Value) {
		return fmt.Sprintf("%s: severity %s is below the floor %s", s.Severity.Pos, strings.ToLower(orUnknown(v.Severity)), strings.ToLower(s.Severity.Value))
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "UNKNOWN"
	}
	return s
}

// expired warns of ignores whose date has passed: they no longer apply.
func (s Set) expired(now time.Time) []string {
	var out []string
	for _, ig := range s.Ignore {
		if !ig.Expires.IsZero() && !now.Before(ig.Expires.AddDate(0, 0, 1)) {
			out = append(out, fmt.Sprintf("%s: the ignore of %s expired on %s and no longer applies (%s)", ig.ID.Pos, ig.ID.Value, ig.Expires.Format(time.DateOnly), ig.Reason))
		}
	}
	return out
}
