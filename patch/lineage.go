package patch

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"

	"github.com/darn-dev/darn/plan"
)

// Version is darn's version, recorded in the lineage of every image it
// patches; set at link time with
// -ldflags "-X github.com/darn-dev/darn/patch.Version=…".
var Version = "dev"

// darn's lineage keys: labels of the patched image's config, and the same
// keys as annotations of its manifest where the export keeps annotations.
// docs/lineage.md describes them. The image-spec's own base-image keys
// (org.opencontainers.image.base.*) are left as the original had them:
// tools read them to learn an image's base, which darn does not change.
const (
	KeyOriginalName   = "dev.darn.original.name"
	KeyOriginalDigest = "dev.darn.original.digest"
	KeyOriginalLayers = "dev.darn.original.layers"
	KeyVersion        = "dev.darn.version"
	KeyFixed          = "dev.darn.fixed"
)

// Lineage is what darn records in an image it patched: the original image
// it started from, and every fix its layer holds.
type Lineage struct {
	// OriginalName and OriginalDigest name the original image as it was
	// given and its manifest for this platform.
	OriginalName   string
	OriginalDigest digest.Digest
	// OriginalLayers is the number of the original's layers; the patched
	// image has exactly one more.
	OriginalLayers int
	// Version is the darn that made the layer.
	Version string
	// Fixed lists every package the layer upgraded for a fix, in name order.
	Fixed []Fix
}

// Fix is one package darn's layer upgraded, and the vulnerabilities the
// upgrade fixed.
type Fix struct {
	Package         string   `json:"package"`
	Version         string   `json:"version"`
	Vulnerabilities []string `json:"vulnerabilities,omitempty"`
}

// ReadLineage reads darn's lineage from an image config; ok is false for
// an image darn did not patch.
func ReadLineage(cfg dockerspec.DockerOCIImage) (Lineage, bool, error) {
	labels := cfg.Config.Labels
	name, dgst := labels[KeyOriginalName], labels[KeyOriginalDigest]
	if name == "" && dgst == "" {
		return Lineage{}, false, nil
	}
	l := Lineage{OriginalName: name, Version: labels[KeyVersion]}
	var err error
	if l.OriginalDigest, err = digest.Parse(dgst); err != nil {
		return l, false, fmt.Errorf("reading label %s=%q: %w", KeyOriginalDigest, dgst, err)
	}
	if l.OriginalLayers, err = strconv.Atoi(labels[KeyOriginalLayers]); err != nil || l.OriginalLayers < 1 {
		return l, false, fmt.Errorf("reading label %s=%q: want a number of layers", KeyOriginalLayers, labels[KeyOriginalLayers])
	}
	if fixed := labels[KeyFixed]; fixed != "" {
		if err := json.Unmarshal([]byte(fixed), &l.Fixed); err != nil {
			return l, false, fmt.Errorf("reading label %s: %w", KeyFixed, err)
		}
	}
	return l, true, nil
}

// Labels renders the lineage as labels (and manifest annotations).
func (l Lineage) Labels() map[string]string {
	fixed, _ := json.Marshal(l.Fixed)
	return map[string]string{
		KeyOriginalName:   l.OriginalName,
		KeyOriginalDigest: l.OriginalDigest.String(),
		KeyOriginalLayers: strconv.Itoa(l.OriginalLayers),
		KeyVersion:        l.Version,
		KeyFixed:          string(fixed),
	}
}

// Original returns the reference that pulls the original image for this
// platform: its name pinned to its manifest's digest.
func (l Lineage) Original() (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(l.OriginalName)
	if err != nil {
		return nil, fmt.Errorf("parsing original image %q: %w", l.OriginalName, err)
	}
	return reference.WithDigest(reference.TrimNamed(named), l.OriginalDigest)
}

// Replaceable says whether img is the original plus darn's one layer, so
// that a new patch can start again from the original: a layer someone
// added on top of darn's must stay.
func (l Lineage) Replaceable(img Image) bool {
	return len(img.Config.RootFS.DiffIDs) == l.OriginalLayers+1
}

// FirstLineage is the lineage of an image darn patches for the first time:
// the image itself is the original.
func FirstLineage(img Image) Lineage {
	return Lineage{
		OriginalName:   reference.FamiliarString(img.Ref),
		OriginalDigest: img.Digest,
		OriginalLayers: len(img.Config.RootFS.DiffIDs),
	}
}

// Next returns the lineage after a patch whose changes are given: every
// earlier fix, and each planned upgrade with the vulnerabilities it fixes,
// at the version now installed.
func (l Lineage) Next(changes []plan.Change) Lineage {
	byName := map[string]Fix{}
	for _, f := range l.Fixed {
		byName[f.Package] = f
	}
	for _, c := range changes {
		if !c.Planned {
			continue
		}
		f := byName[c.Name]
		f.Package, f.Version = c.Name, c.To
		f.Vulnerabilities = union(f.Vulnerabilities, c.Fixes)
		byName[c.Name] = f
	}
	next := l
	next.Version = Version
	next.Fixed = nil
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		next.Fixed = append(next.Fixed, byName[name])
	}
	return next
}

// Carried returns the plan that keeps every earlier fix when a patch
// starts again from the original: each package the earlier layer upgraded
// is upgraded again to at least the version it had, merged with p (the
// new report's plan). original lists the original image's packages, which
// the plan's items are measured against.
func (l Lineage) Carried(p plan.Plan, original []plan.Package, cmp plan.Comparer) (plan.Plan, error) {
	items := map[string]plan.Item{}
	for _, it := range p.Upgrades() {
		items[it.Name] = it
	}
	for _, f := range l.Fixed {
		it, ok := items[f.Package]
		if !ok {
			items[f.Package] = plan.Item{Name: f.Package, Fixed: f.Version, Action: plan.ActionUpgrade, Fixes: f.Vulnerabilities}
			continue
		}
		c, err := cmp.Compare(f.Version, it.Fixed)
		if err != nil {
			return plan.Plan{}, fmt.Errorf("carrying the fix of %s: %w", f.Package, err)
		}
		if c > 0 {
			it.Fixed = f.Version
		}
		it.Fixes = union(it.Fixes, f.Vulnerabilities)
		items[f.Package] = it
	}
	installed := map[string]string{}
	for _, pkg := range original {
		if pkg.Installed {
			installed[pkg.Name] = pkg.Version
		}
	}
	// What the new plan leaves alone (no fix yet, not installed) stays
	// in the plan, to be told.
	for _, it := range p.Items {
		if _, upgraded := items[it.Name]; !upgraded {
			items[it.Name] = it
		}
	}
	var out plan.Plan
	for _, name := range slices.Sorted(maps.Keys(items)) {
		it := items[name]
		if it.Action == plan.ActionUpgrade {
			it.Installed = installed[name]
		}
		out.Items = append(out.Items, it)
	}
	return out, nil
}

// union returns the sorted union of two id lists.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
