package patch

import (
	"reflect"
	"strings"
	"testing"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/distros/deb"
	"github.com/darn-dev/darn/plan"
	"github.com/darn-dev/darn/policy/rules"
)

func TestLeftOutButChanged(t *testing.T) {
	p := plan.Plan{Items: []plan.Item{
		{Name: "apt", Installed: "2.6.1", Action: plan.ActionLeftOut, Reason: "p.yaml:3:13: packages.exclude apt"},
		{Name: "libapt-pkg6.0", Installed: "2.6.1", Fixed: "2.6.2", Action: plan.ActionUpgrade},
	}}
	changes := []plan.Change{{Name: "apt", From: "2.6.1", To: "2.6.2"}, {Name: "libapt-pkg6.0", From: "2.6.1", To: "2.6.2", Planned: true}}
	got := LeftOutButChanged(p, changes)
	if len(got) != 1 || !strings.Contains(got[0], "apt was left out by the patch policy (p.yaml:3:13: packages.exclude apt) but changed from 2.6.1 to 2.6.2") {
		t.Errorf("warnings %q", got)
	}
}

// In update-all mode the package rules apply to the upgradable packages
// (by binary or source name); the others are planned as before.
func TestPlanUpgradableWithPolicy(t *testing.T) {
	in := Inspection{Family: deb.Family{}, Installed: distros.Installed{Packages: []plan.Package{
		{Name: "libc6", Version: "2.36-9", Source: "glibc", Installed: true},
		{Name: "tzdata", Version: "2026a-0", Source: "tzdata", Installed: true},
		{Name: "tar", Version: "1.34", Source: "tar", Installed: true},
	}}}
	pol, err := rules.Parse("p.yaml", []byte("version: 1\npackages:\n  exclude: [glibc, tzdata]\n"))
	if err != nil {
		t.Fatal(err)
	}
	set := pol.For("docker.io/library/debian:12", "debian:12")
	// deb's upgradable answer: NAME VERSION lines (distros/deb).
	got, err := in.PlanUpgradableWith([]byte("libc6 2.36-10\ntzdata 2026b-0\ntar 1.35\n"), &set)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]string{}
	for _, it := range got.Items {
		actions[it.Name] = string(it.Action) + " " + it.Reason
	}
	want := map[string]string{
		"libc6":  "left-out p.yaml:3:13: packages.exclude glibc",
		"tzdata": "left-out p.yaml:3:20: packages.exclude tzdata",
		"tar":    "upgrade ",
	}
	if !reflect.DeepEqual(actions, want) {
		t.Errorf("actions %v, want %v", actions, want)
	}
}
