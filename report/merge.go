package report

import (
	"cmp"
	"slices"
	"strings"
)

// The scanners repeat entries (once per layer, location or data source),
// and a hostile report can repeat one tens of thousands of times, so
// everything here folds them with maps, in time linear in the entries,
// rather than by scanning what was kept so far.

// pkgKey identifies a Package: a binary package at an installed version.
type pkgKey struct{ name, version string }

// sortPackages returns the packages sorted by name and installed version,
// each with its vulnerabilities merged.
func sortPackages(byKey map[pkgKey]*Package) []Package {
	if len(byKey) == 0 {
		return nil
	}
	pkgs := make([]Package, 0, len(byKey))
	for _, p := range byKey {
		p.Vulnerabilities = mergeVulns(p.Vulnerabilities)
		pkgs = append(pkgs, *p)
	}
	slices.SortFunc(pkgs, func(a, b Package) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.InstalledVersion, b.InstalledVersion))
	})
	return pkgs
}

// mergeVulns sorts by ID and folds repeated IDs into one: a package can be
// listed once per layer or data source. Fixed versions are united in the
// order first seen, the first non-empty status is kept, and the highest
// severity.
func mergeVulns(vulns []Vulnerability) []Vulnerability {
	at := make(map[string]int, len(vulns))
	// fixes holds the fixed versions of the IDs seen more than once,
	// by index in out.
	fixes := map[int]*orderedSet{}
	// out reuses vulns' array: it never grows past the entry being read.
	out := vulns[:0]
	for _, v := range vulns {
		i, seen := at[v.ID]
		if !seen {
			at[v.ID] = len(out)
			out = append(out, v)
			continue
		}
		set := fixes[i]
		if set == nil {
			set = &orderedSet{list: out[i].FixedVersions}
			fixes[i] = set
		}
		for _, f := range v.FixedVersions {
			set.add(f)
		}
		out[i].Status = cmp.Or(out[i].Status, v.Status)
		if SeverityRank(v.Severity) > SeverityRank(out[i].Severity) || out[i].Severity == "" {
			out[i].Severity = cmp.Or(v.Severity, out[i].Severity)
		}
	}
	for i, set := range fixes {
		out[i].FixedVersions = set.list
	}
	slices.SortFunc(out, func(a, b Vulnerability) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// orderedSet collects strings in the order first added, each once. Its
// list may start with repeats, which it keeps; it checks only additions.
type orderedSet struct {
	list []string
	// seen indexes list once it is too long to scan.
	seen map[string]struct{}
}

// scanLimit is the list length up to which add scans the list instead of
// keeping a map: most lists hold one or two versions.
const scanLimit = 16

// add appends s unless the set holds it already.
func (o *orderedSet) add(s string) {
	if o.seen == nil && len(o.list) < scanLimit {
		if !slices.Contains(o.list, s) {
			o.list = append(o.list, s)
		}
		return
	}
	if o.seen == nil {
		o.seen = make(map[string]struct{}, 2*len(o.list))
		for _, x := range o.list {
			o.seen[x] = struct{}{}
		}
	}
	if _, ok := o.seen[s]; !ok {
		o.seen[s] = struct{}{}
		o.list = append(o.list, s)
	}
}
