package apkinstall

import (
	"fmt"
	"slices"
	"strings"

	goapk "github.com/chainguard-dev/go-apk/pkg/apk"

	"github.com/darn-dev/darn/distros/apk"
)

// Choice is a package to install: an upgrade of an installed one (Old
// set) or a dependency the upgrades newly need.
type Choice struct {
	Pkg *goapk.RepositoryPackage
	Old *apk.Entry
}

// Missing is a request no repository offers a version at or above.
type Missing struct{ Name, Fixed, Newest string }

func (m Missing) String() string {
	if m.Newest == "" {
		return fmt.Sprintf("%s (no repository offers it)", m.Name)
	}
	return fmt.Sprintf("%s >= %s (the newest offered is %s)", m.Name, m.Fixed, m.Newest)
}

// resolver chooses versions from the repositories' packages.
type resolver struct {
	byName    map[string][]*goapk.RepositoryPackage
	installed map[string]*apk.Entry
	// provided maps what installed or chosen packages provide ("so:…",
	// "cmd:…", names) to the provider's version.
	provided map[string]string
	chosen   map[string]*Choice
	order    []string
}

func newResolver(indexes []goapk.NamedIndex, entries []apk.Entry) *resolver {
	r := &resolver{byName: map[string][]*goapk.RepositoryPackage{}, installed: map[string]*apk.Entry{}, provided: map[string]string{}, chosen: map[string]*Choice{}}
	for _, idx := range indexes {
		for _, p := range idx.Packages() {
			r.byName[p.Name] = append(r.byName[p.Name], p)
		}
	}
	for i := range entries {
		e := &entries[i]
		r.installed[e.Name] = e
		r.provide(e.Name, e.Version, entryProvides(*e))
	}
	return r
}

// entryProvides reads an installed record's p: line.
func entryProvides(e apk.Entry) []string {
	for _, l := range e.Lines {
		if v, ok := strings.CutPrefix(l, "p:"); ok {
			return strings.Fields(v)
		}
	}
	return nil
}

// provide records a package and what it provides.
func (r *resolver) provide(name, version string, provides []string) {
	r.provided[name] = version
	for _, p := range provides {
		n, v, ok := strings.Cut(p, "=")
		if !ok {
			v = version
		}
		r.provided[n] = v
	}
}

// request chooses name at the lowest version at or above fixed.
func (r *resolver) request(name, fixed string) (*Missing, error) {
	var best *goapk.RepositoryPackage
	newest := ""
	for _, p := range r.byName[name] {
		if newest == "" || cmp(p.Version, newest) > 0 {
			newest = p.Version
		}
		if cmp(p.Version, fixed) >= 0 && (best == nil || cmp(p.Version, best.Version) < 0) {
			best = p
		}
	}
	if best == nil {
		return &Missing{Name: name, Fixed: fixed, Newest: newest}, nil
	}
	return nil, r.choose(best)
}

// choose adds a package and, depth first, the dependencies it newly
// needs.
func (r *resolver) choose(p *goapk.RepositoryPackage) error {
	if c, ok := r.chosen[p.Name]; ok {
		if c.Pkg.Version != p.Version {
			return fmt.Errorf("%s is needed at %s and at %s", p.Name, c.Pkg.Version, p.Version)
		}
		return nil
	}
	r.chosen[p.Name] = &Choice{Pkg: p, Old: r.installed[p.Name]}
	r.order = append(r.order, p.Name)
	r.provide(p.Name, p.Version, p.Provides)
	for _, d := range p.Dependencies {
		if err := r.depend(p, d); err != nil {
			return err
		}
	}
	return nil
}

// depend satisfies one dependency of p: kept when an installed or chosen
// package satisfies it, else the newest package offering it that does
// (as apk itself would add it).
func (r *resolver) depend(p *goapk.RepositoryPackage, dep string) error {
	if strings.HasPrefix(dep, "!") {
		return nil // a conflict: apk refuses it at install; nothing to add
	}
	name, op, want := splitDep(dep)
	if v, ok := r.provided[name]; ok && satisfies(v, op, want) {
		return nil
	}
	var best *goapk.RepositoryPackage
	for _, cands := range r.byName {
		for _, c := range cands {
			if v, ok := offers(c, name); ok && satisfies(v, op, want) && (best == nil || cmp(c.Version, best.Version) > 0) {
				best = c
			}
		}
	}
	if best == nil {
		return fmt.Errorf("%s %s depends on %s, which no repository offers", p.Name, p.Version, dep)
	}
	return r.choose(best)
}

// Choices returns the chosen packages in the order chosen.
func (r *resolver) Choices() []Choice {
	out := make([]Choice, 0, len(r.order))
	for _, n := range r.order {
		out = append(out, *r.chosen[n])
	}
	return out
}

// offers says whether c is or provides name, and at which version.
func offers(c *goapk.RepositoryPackage, name string) (string, bool) {
	if c.Name == name {
		return c.Version, true
	}
	for _, p := range c.Provides {
		n, v, ok := strings.Cut(p, "=")
		if n == name {
			if !ok {
				v = c.Version
			}
			return v, true
		}
	}
	return "", false
}

// depOps are apk's version operators, longest first.
var depOps = []string{">=", "<=", "><", "=~", "~", ">", "<", "="}

// splitDep splits "name>=1.2" into its name, operator and version.
func splitDep(dep string) (name, op, version string) {
	i := strings.IndexAny(dep, "<>=~")
	if i < 0 {
		return dep, "", ""
	}
	for _, o := range depOps {
		if strings.HasPrefix(dep[i:], o) {
			return dep[:i], o, dep[i+len(o):]
		}
	}
	return dep, "", ""
}

// satisfies checks a version against an operator; an unparsable version
// satisfies nothing but the bare name.
func satisfies(have, op, want string) bool {
	if op == "" {
		return true
	}
	if op == "~" || op == "=~" {
		return have == want || strings.HasPrefix(have, want+".") || strings.HasPrefix(have, want+"-") || strings.HasPrefix(have, want+"_")
	}
	c, err := apk.Versions{}.Compare(have, want)
	if err != nil {
		return false
	}
	return slices.Contains(map[int][]string{-1: {"<", "<=", "><"}, 0: {"=", ">=", "<="}, 1: {">", ">=", "><"}}[c], op)
}

// cmp orders versions, the unparsable last.
func cmp(a, b string) int {
	c, err := apk.Versions{}.Compare(a, b)
	if err != nil {
		return strings.Compare(a, b)
	}
	return c
}
