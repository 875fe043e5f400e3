package plan

import (
	"errors"
	"fmt"
	"sort"

	"github.com/darn-dev/darn/report"
)

// ErrNothingToPatch reports that a plan holds no upgrade: the image is then
// returned as it is, which callers treat as success.
var ErrNothingToPatch = errors.New("nothing to patch")

// Action says what the plan does with one reported package.
type Action string

// The actions a plan can take for a reported package.
const (
	// ActionUpgrade installs the package at the lowest available version
	// at or above Fixed.
	ActionUpgrade Action = "upgrade"
	// ActionAlreadyFixed means the installed version is already at or
	// above every known fix (the report is older than the image).
	ActionAlreadyFixed Action = "already-fixed"
	// ActionNotInstalled means the report names a package the image's
	// database does not hold as installed.
	ActionNotInstalled Action = "not-installed"
	// ActionNoFix means no vulnerability of the package has a fix yet.
	ActionNoFix Action = "no-fix"
	// ActionUnavailable means the image's repositories offer no version at
	// or above the fix (kept with ignore-errors).
	ActionUnavailable Action = "unavailable"
	// ActionLeftOut means the patch policy left the package out; Reason
	// names the rule.
	ActionLeftOut Action = "left-out"
)

// Item is the plan for one binary package.
type Item struct {
	Name string `json:"name"`
	// Installed is the version in the image's package database (empty
	// when not installed).
	Installed string `json:"installed,omitempty"`
	// Fixed is the highest fixed version the report gives, under the
	// family's own ordering: the minimum version to install.
	Fixed  string `json:"fixed,omitempty"`
	Action Action `json:"action"`
	// Version is the exact version to install, when the family chose it
	// before the upgrade (the lowest the repositories offer at or above
	// Fixed); empty when the upgrade step chooses it.
	Version string `json:"version,omitempty"`
	// Fixes are the vulnerability ids the upgrade resolves.
	Fixes []string `json:"fixes,omitempty"`
	// Unfixed are the vulnerability ids with no fix available.
	Unfixed []string `json:"unfixed,omitempty"`
	// Reason says why the package is left alone, when a rule says so
	// (ActionLeftOut: the policy's rule, by file, line and column).
	Reason string `json:"reason,omitempty"`
}

// Plan is the update plan for one image (one platform).
type Plan struct {
	// Items are sorted by package name; a name appears once.
	Items []Item `json:"items"`
}

// Upgrades returns the items to install, in name order.
func (p Plan) Upgrades() []Item {
	var out []Item
	for _, it := range p.Items {
		if it.Action == ActionUpgrade {
			out = append(out, it)
		}
	}
	return out
}

// Build makes the plan for a report against the installed packages,
// comparing versions with cmp. Packages are keyed by binary name; the
// installed database is authoritative for the current version because a
// report may be older than the image.
func Build(r report.Report, installed []Package, cmp Comparer) (Plan, error) {
	byName := map[string]Package{}
	for _, p := range installed {
		if p.Installed {
			byName[p.Name] = p
		}
	}
	merged := mergeByName(r.Packages)
	names := make([]string, 0, len(merged))
	for name := range merged {
		names = append(names, name)
	}
	sort.Strings(names)

	var plan Plan
	var errs []error
	for _, name := range names {
		it, err := planItem(name, merged[name], byName, cmp)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		plan.Items = append(plan.Items, it)
	}
	return plan, errors.Join(errs...)
}

// mergeByName folds report entries of the same binary package (a report
// can list one package several times, e.g. once per architecture or per
// installed version) into one list of vulnerabilities.
func mergeByName(pkgs []report.Package) map[string][]report.Vulnerability {
	out := map[string][]report.Vulnerability{}
	for _, p := range pkgs {
		out[p.Name] = append(out[p.Name], p.Vulnerabilities...)
	}
	return out
}

func planItem(name string, vulns []report.Vulnerability, installed map[string]Package, cmp Comparer) (Item, error) {
	it := Item{Name: name}
	pkg, ok := installed[name]
	if ok {
		it.Installed = pkg.Version
	}
	fixed, err := highestFix(vulns, it.Installed, cmp)
	if err != nil {
		return it, fmt.Errorf("planning %s: %w", name, err)
	}
	it.Fixed = fixed
	it.Fixes, it.Unfixed = splitIDs(vulns)
	switch {
	case fixed == "":
		it.Action = ActionNoFix
	case !ok:
		it.Action = ActionNotInstalled
	default:
		c, err := cmp.Compare(pkg.Version, fixed)
		if err != nil {
			return it, fmt.Errorf("planning %s: %w", name, err)
		}
		it.Action = ActionUpgrade
		if c >= 0 {
			it.Action = ActionAlreadyFixed
		}
	}
	return it, nil
}

// Err returns ErrNothingToPatch when the plan upgrades nothing.
func (p Plan) Err() error {
	if len(p.Upgrades()) == 0 {
		return ErrNothingToPatch
	}
	return nil
}

// AllUpgrades plans the update-all mode: every installed package for which
// the sources offer a newer version (candidates: name → version) is
// upgraded to that version. No vulnerability is named: none was reported.
func AllUpgrades(installed []Package, candidates map[string]string, cmp Comparer) (Plan, error) {
	var plan Plan
	var errs []error
	for _, p := range installed {
		cand, ok := candidates[p.Name]
		if !ok || !p.Installed {
			continue
		}
		c, err := cmp.Compare(cand, p.Version)
		if err != nil {
			errs = append(errs, fmt.Errorf("planning %s: %w", p.Name, err))
			continue
		}
		if c > 0 {
			plan.Items = append(plan.Items, Item{Name: p.Name, Installed: p.Version, Fixed: cand, Action: ActionUpgrade})
		}
	}
	sort.Slice(plan.Items, func(i, j int) bool { return plan.Items[i].Name < plan.Items[j].Name })
	return plan, errors.Join(errs...)
}

// LeaveOut marks the packages the patch policy left out (name → rule): an
// item of the plan becomes ActionLeftOut with the rule as Reason, and a
// package the policy took out of the report before planning gets an item
// of its own, with its installed version.
func LeaveOut(p Plan, installed []Package, rules map[string]string) Plan {
	version := map[string]string{}
	for _, pkg := range installed {
		if pkg.Installed {
			version[pkg.Name] = pkg.Version
		}
	}
	out := Plan{Items: make([]Item, 0, len(p.Items)+len(rules))}
	seen := map[string]bool{}
	for _, it := range p.Items {
		if r, ok := rules[it.Name]; ok {
			it.Action, it.Reason, it.Version = ActionLeftOut, r, ""
		}
		seen[it.Name] = true
		out.Items = append(out.Items, it)
	}
	for name, r := range rules {
		if !seen[name] {
			out.Items = append(out.Items, Item{Name: name, Installed: version[name], Action: ActionLeftOut, Reason: r})
		}
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
	return out
}
