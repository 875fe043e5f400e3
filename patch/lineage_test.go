package patch

import (
	"reflect"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"

	"github.com/darn-dev/darn/plan"
)

// numeric orders versions that are plain numbers.
type numeric struct{}

func (numeric) Compare(a, b string) (int, error) {
	switch {
	case len(a) != len(b):
		return len(a) - len(b), nil
	case a < b:
		return -1, nil
	case a > b:
		return 1, nil
	}
	return 0, nil
}

var origDigest = digest.FromString("original")

func lineage() Lineage {
	return Lineage{
		OriginalName: "registry.example/app:1.4", OriginalDigest: origDigest, OriginalLayers: 3, Version: "v1",
		Fixed: []Fix{{Package: "libc6", Version: "10", Vulnerabilities: []string{"CVE-1"}}, {Package: "zlib1g", Version: "5", Vulnerabilities: []string{"CVE-2"}}},
	}
}

func withLabels(labels map[string]string, layers int) dockerspec.DockerOCIImage {
	var cfg dockerspec.DockerOCIImage
	cfg.Config.Labels = labels
	for range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digest.FromString("layer"))
	}
	return cfg
}

func TestLineageRoundTrip(t *testing.T) {
	want := lineage()
	got, ok, err := ReadLineage(withLabels(want.Labels(), 4))
	if err != nil || !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadLineage(Labels()) = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	if _, ok, err := ReadLineage(withLabels(map[string]string{"team": "x"}, 1)); ok || err != nil {
		t.Errorf("an image darn did not patch has no lineage: %v %v", ok, err)
	}
	for name, labels := range map[string]map[string]string{
		"bad digest": {KeyOriginalName: "a", KeyOriginalDigest: "sha256:zz", KeyOriginalLayers: "1"},
		"no layers":  {KeyOriginalName: "a", KeyOriginalDigest: origDigest.String(), KeyOriginalLayers: "0"},
		"bad fixed":  {KeyOriginalName: "a", KeyOriginalDigest: origDigest.String(), KeyOriginalLayers: "1", KeyFixed: "{"},
	} {
		if _, _, err := ReadLineage(withLabels(labels, 2)); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	ref, err := want.Original()
	if err != nil || ref.String() != "registry.example/app@"+origDigest.String() {
		t.Errorf("Original() = %v, %v", ref, err)
	}
}

// Only the original plus darn's one layer is replaced: a layer added on
// top of darn's stays.
func TestLineageReplaceable(t *testing.T) {
	l := lineage()
	if !l.Replaceable(Image{Config: withLabels(nil, 4)}) || l.Replaceable(Image{Config: withLabels(nil, 5)}) {
		t.Error("Replaceable must hold for the original's layers + 1 only")
	}
}

// Next keeps every earlier fix and adds the planned upgrades of the new
// patch, not the dependencies it pulled in.
func TestLineageNext(t *testing.T) {
	next := lineage().Next([]plan.Change{
		{Name: "libc6", To: "11", Planned: true, Fixes: []string{"CVE-3"}},
		{Name: "openssl", To: "3", Planned: true, Fixes: []string{"CVE-4"}},
		{Name: "libgcc", To: "2"},
	})
	want := []Fix{
		{Package: "libc6", Version: "11", Vulnerabilities: []string{"CVE-1", "CVE-3"}},
		{Package: "openssl", Version: "3", Vulnerabilities: []string{"CVE-4"}},
		{Package: "zlib1g", Version: "5", Vulnerabilities: []string{"CVE-2"}},
	}
	if !reflect.DeepEqual(next.Fixed, want) || next.Version != Version || next.OriginalDigest != origDigest {
		t.Errorf("Next = %+v", next)
	}
}

// Carried plans every earlier fix again on the original, merged with the
// new report's plan (the higher fixed version wins, the ids are joined),
// and keeps what the new plan leaves alone.
func TestLineageCarried(t *testing.T) {
	newPlan := plan.Plan{Items: []plan.Item{
		{Name: "libc6", Installed: "10", Fixed: "12", Action: plan.ActionUpgrade, Fixes: []string{"CVE-5"}},
		{Name: "tar", Action: plan.ActionNoFix, Unfixed: []string{"CVE-6"}},
		{Name: "zlib1g", Installed: "5", Fixed: "4", Action: plan.ActionAlreadyFixed, Fixes: []string{"CVE-2"}},
	}}
	original := []plan.Package{{Name: "libc6", Version: "9", Installed: true}, {Name: "zlib1g", Version: "3", Installed: true}}
	got, err := lineage().Carried(newPlan, original, numeric{})
	if err != nil {
		t.Fatal(err)
	}
	want := []plan.Item{
		{Name: "libc6", Installed: "9", Fixed: "12", Action: plan.ActionUpgrade, Fixes: []string{"CVE-1", "CVE-5"}},
		{Name: "tar", Action: plan.ActionNoFix, Unfixed: []string{"CVE-6"}},
		{Name: "zlib1g", Installed: "3", Fixed: "5", Action: plan.ActionUpgrade, Fixes: []string{"CVE-2"}},
	}
	if !reflect.DeepEqual(got.Items, want) {
		t.Errorf("Carried =\n%+v\nwant\n%+v", got.Items, want)
	}
}
