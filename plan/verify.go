package plan

import (
	"fmt"
	"sort"
	"strings"
)

// Change is one package version change in the patched image.
type Change struct {
	Name string `json:"name"`
	// From is empty for a package newly installed as a dependency.
	From string `json:"from,omitempty"`
	To   string `json:"to"`
	// Arch is the package's architecture ("amd64", "all").
	Arch string `json:"arch,omitempty"`
	// PURL names the package now installed, for VEX.
	PURL string `json:"purl,omitempty"`
	// Planned is false for dependencies the package manager needed.
	Planned bool     `json:"planned"`
	Fixes   []string `json:"fixes,omitempty"`
}

// ShortfallError lists planned packages that stayed below their fixed
// version after the upgrade.
type ShortfallError struct {
	Packages []Item
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

// Verify checks, against the package database read back after the
// upgrade, that every planned upgrade reached its fixed version; it
// returns a *ShortfallError naming those that did not.
func Verify(p Plan, after []Package, cmp Comparer) error {
	got := versions(after)
	short := &ShortfallError{Got: got}
	for _, it := range p.Upgrades() {
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

// Changes lists the packages whose installed version differs after the
// upgrade, in name order; planned ones carry the fixes they bring.
func Changes(p Plan, before, after []Package) []Change {
	old := versions(before)
	planned := map[string]Item{}
	for _, it := range p.Upgrades() {
		planned[it.Name] = it
	}
	var out []Change
	for _, pkg := range after {
		if !pkg.Installed || old[pkg.Name] == pkg.Version {
			continue
		}
		it, ok := planned[pkg.Name]
		out = append(out, Change{Name: pkg.Name, From: old[pkg.Name], To: pkg.Version, Arch: pkg.Arch, Planned: ok, Fixes: it.Fixes})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Without returns p without the given items: an upgrade that fell short
// (kept with ignore-errors) then claims no fix.
func Without(p Plan, drop []Item) Plan {
	gone := map[string]bool{}
	for _, it := range drop {
		gone[it.Name] = true
	}
	var out Plan
	for _, it := range p.Items {
		if !gone[it.Name] {
			out.Items = append(out.Items, it)
		}
	}
	return out
}

// versions maps installed package names to versions.
func versions(pkgs []Package) map[string]string {
	m := make(map[string]string, len(pkgs))
	for _, p := range pkgs {
		if p.Installed {
			m[p.Name] = p.Version
		}
	}
	return m
}
