package patch

import (
	"fmt"
	"strings"
	"time"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/plan"
	"github.com/darn-dev/darn/policy/rules"
	"github.com/darn-dev/darn/report"
)

// PlanReport plans the report's upgrades with the patch policy's rules
// for this image applied (set nil: no policy): vulnerabilities and
// packages the rules leave out are planned as ActionLeftOut, each with
// its rule, and never upgraded.
func (in Inspection) PlanReport(r report.Report, set *rules.Set, now time.Time) (plan.Plan, rules.Result, error) {
	if set == nil {
		p, err := in.Plan(r)
		return p, rules.Result{Report: r}, err
	}
	res := set.Apply(r, now)
	p, err := in.Plan(res.Report)
	if err != nil {
		return p, res, err
	}
	left := map[string]string{}
	for _, l := range res.LeftOut {
		if l.ID == "" {
			left[l.Package] = l.Rule
		}
	}
	return plan.LeaveOut(p, in.Installed.Packages, left), res, nil
}

// PlanUpgradableWith plans update-all mode with the policy's package rules
// (set nil: no policy); severities and ignores need a report and do not
// apply.
func (in Inspection) PlanUpgradableWith(answer []byte, set *rules.Set) (plan.Plan, error) {
	p, err := in.PlanUpgradable(answer)
	if err != nil || set == nil {
		return p, err
	}
	source := map[string]string{}
	for _, pkg := range in.Installed.Packages {
		source[pkg.Name] = pkg.Source
	}
	left := map[string]string{}
	for _, it := range p.Items {
		if rule, out := set.PackageRule(it.Name, source[it.Name]); out {
			left[it.Name] = rule
		}
	}
	return plan.LeaveOut(p, in.Installed.Packages, left), nil
}

// UnfixableError reports vulnerabilities at or above the policy's floor
// that have no fix anywhere, under fail-on-unfixable.
type UnfixableError struct {
	Image string
	List  []string
}

func (e *UnfixableError) Error() string {
	return fmt.Sprintf("%s: %d vulnerabilities at or above the policy's severity floor have no fix (fail-on-unfixable): %s",
		e.Image, len(e.List), strings.Join(e.List, ", "))
}

// EOLError reports a patch of an end-of-life release under fail-on-eol.
type EOLError struct{ Message string }

func (e *EOLError) Error() string { return e.Message + " (fail-on-eol)" }

// CheckPolicy returns the error the policy and fail-on-eol make of a
// platform's plan: unfixable vulnerabilities under fail-on-unfixable, an
// end-of-life release under fail-on-eol.
func (in Inspection) CheckPolicy(image string, res rules.Result, eol distros.EOL, failOnEOL bool) error {
	if res.FailOnUnfixable && len(res.Unfixable) > 0 {
		return &UnfixableError{Image: image, List: res.Unfixable}
	}
	if failOnEOL && eol.Status == distros.EOLEnded {
		return &EOLError{Message: eol.Message(in.Release)}
	}
	return nil
}

// LeftOutButChanged warns of packages the policy left out that the
// package manager changed anyway, as dependencies of the upgrades (a
// policy cannot hold a package another upgrade needs); they claim no fix.
func LeftOutButChanged(p plan.Plan, changes []plan.Change) []string {
	var out []string
	for _, c := range changes {
		for _, it := range p.Items {
			if it.Name == c.Name && it.Action == plan.ActionLeftOut && !c.Planned {
				out = append(out, fmt.Sprintf("%s was left out by the patch policy (%s) but changed from %s to %s as a dependency of the upgrades; no fix is claimed for it", c.Name, it.Reason, c.From, c.To))
			}
		}
	}
	return out
}
