package plan

import (
	"sort"

	"github.com/darn-dev/darn/report"
)

// highestFix returns the highest version, under cmp, that any fixable
// vulnerability needs: installing it resolves all of them at once.
func highestFix(vulns []report.Vulnerability, installed string, cmp Comparer) (string, error) {
	var best string
	for _, v := range vulns {
		fix, err := branchFix(v.FixedVersions, installed, cmp)
		if err != nil {
			return "", err
		}
		if fix == "" {
			continue
		}
		if best == "" {
			best = fix
			continue
		}
		c, err := cmp.Compare(fix, best)
		if err != nil {
			return "", err
		}
		if c > 0 {
			best = fix
		}
	}
	return best, nil
}

// branchFix picks one fixed version from a list. Scanners list several when
// a fix landed on several release branches ("1.1.1n-0+deb10u3, 1.1.1n-0+deb11u4");
// the one that applies is the lowest above the installed version, since the
// higher ones belong to newer branches. Without an installed version, or when
// none is above it, the highest is the only safe choice.
func branchFix(fixes []string, installed string, cmp Comparer) (string, error) {
	if len(fixes) <= 1 {
		if len(fixes) == 0 {
			return "", nil
		}
		return fixes[0], nil
	}
	sorted := append([]string(nil), fixes...)
	var sortErr error
	sort.SliceStable(sorted, func(i, j int) bool {
		c, err := cmp.Compare(sorted[i], sorted[j])
		if err != nil && sortErr == nil {
			sortErr = err
		}
		return c < 0
	})
	if sortErr != nil {
		return "", sortErr
	}
	if installed != "" {
		for _, f := range sorted {
			if c, err := cmp.Compare(f, installed); err == nil && c > 0 {
				return f, nil
			}
		}
	}
	return sorted[len(sorted)-1], nil
}

// splitIDs returns the sorted, de-duplicated ids of fixable and unfixable
// vulnerabilities.
func splitIDs(vulns []report.Vulnerability) (fixes, unfixed []string) {
	seenFix, seenOpen := map[string]bool{}, map[string]bool{}
	for _, v := range vulns {
		switch {
		case v.Fixable() && !seenFix[v.ID]:
			seenFix[v.ID] = true
			fixes = append(fixes, v.ID)
		case !v.Fixable() && !seenOpen[v.ID]:
			seenOpen[v.ID] = true
			unfixed = append(unfixed, v.ID)
		}
	}
	sort.Strings(fixes)
	sort.Strings(unfixed)
	return fixes, unfixed
}
