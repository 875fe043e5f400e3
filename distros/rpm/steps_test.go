package rpm

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/golden"

	"github.com/darn-dev/darn/distros"
	darnllb "github.com/darn-dev/darn/llb"
	"github.com/darn-dev/darn/llb/llbtest"
	"github.com/darn-dev/darn/plan"
)

const (
	testImage   = "docker.io/rockylinux/rockylinux@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	testTooling = "docker.io/rockylinux/rockylinux@sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

var (
	amd64  = ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	rocky9 = distros.Release{ID: "rocky", VersionID: "9.4"}
)

func testPlan() plan.Plan {
	return plan.Plan{Items: []plan.Item{
		{Name: "darn-libfoo", Installed: "1.0-1", Fixed: "1.0-2", Version: "1.0-2", Action: plan.ActionUpgrade, Fixes: []string{"DARN-2026-0001"}},
		{Name: "darn-epoch", Installed: "1:2.0-1", Fixed: "1:2.0-2", Version: "1:2.0-2", Action: plan.ActionUpgrade},
		{Name: "darn-unrelated", Installed: "1.0-1", Action: plan.ActionAlreadyFixed},
	}}
}

func render(t *testing.T, s distros.Step) string {
	t.Helper()
	r := darnllb.Runner{
		Family: "rpm", Platform: amd64, Target: llb.Image(testImage), TargetRef: testImage,
		Tooling: llb.Image(testTooling), ToolingRef: testTooling,
	}
	return llbtest.RenderState(t, darnllb.Run(s, r))
}

// Each package manager's steps, in the image and from a tooling image,
// as they run: the exact commands are in the scripts these goldens name,
// and the environment selects them.
func TestStepsGolden(t *testing.T) {
	mirror := []distros.Mirror{{Original: "http://dl.rockylinux.org/pub/rocky", Mirror: "http://127.0.0.1:8080/rocky"}}
	cases := map[string]distros.Upgrade{
		"dnf":          {Manager: "dnf", Release: rocky9, Mirrors: mirror, FetchTimeout: 5 * time.Second, Epoch: time.Unix(1700000000, 0)},
		"yum":          {Manager: "yum", Release: distros.Release{ID: "amzn", VersionID: "2"}},
		"microdnf":     {Manager: "microdnf", Release: distros.Release{ID: "rhel", VersionID: "9.6"}},
		"tdnf":         {Manager: "tdnf", Release: distros.Release{ID: "azurelinux", VersionID: "3.0"}},
		"zypper":       {Manager: "zypper", Release: distros.Release{ID: "sles", VersionID: "15.6"}},
		"tooling":      {Tooling: true, Database: dbRPM, Release: rocky9},
		"tooling-mfst": {Tooling: true, Database: dbManifest, Release: distros.Release{ID: "azurelinux", VersionID: "3.0"}},
	}
	for name, u := range cases {
		t.Run(name, func(t *testing.T) {
			u.Plan = testPlan()
			s, err := Family{}.Upgrade(u)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Family{}.Available(u)
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, render(t, s)+"---\n"+render(t, a), "steps-"+name+".golden")
		})
	}
}

func TestUpgradeNeedsPinnedVersions(t *testing.T) {
	p := testPlan()
	p.Items[0].Version = ""
	if _, err := (Family{}).Upgrade(distros.Upgrade{Plan: p, Manager: "dnf"}); err == nil {
		t.Error("an upgrade without a chosen version must fail")
	}
	p = plan.Plan{Items: []plan.Item{{Name: "a;rm", Fixed: "1", Version: "1", Action: plan.ActionUpgrade}}}
	if _, err := (Family{}).Upgrade(distros.Upgrade{Plan: p, Manager: "dnf"}); err == nil {
		t.Error("a bad package name must fail")
	}
	if _, err := (Family{}).Upgrade(distros.Upgrade{Plan: plan.Plan{}, Manager: "dnf"}); !errors.Is(err, plan.ErrNothingToPatch) {
		t.Errorf("nothing to upgrade: %v", err)
	}
}

// Pin reads each package manager's listing and takes the lowest version at
// or above the fix, never a newer one.
func TestPin(t *testing.T) {
	answers := map[string]string{
		"dnf": "manager dnf\ndarn-libfoo 0:1.0-1 x86_64\ndarn-libfoo 0:1.0-3 x86_64\ndarn-libfoo 0:1.0-2 x86_64\ndarn-libfoo 0:1.0-2 src\ndarn-epoch 1:2.0-2 noarch\n",
		"yum": "manager yum\nAvailable Packages\ndarn-libfoo.x86_64    1.0-2    darn\ndarn-libfoo.x86_64    1.0-3    darn\n" +
			"darn-epoch.noarch\n                      1:2.0-2  darn\n",
		"microdnf": "manager microdnf\ndarn-libfoo-1.0-3.x86_64\ndarn-libfoo-1.0-2.x86_64\ndarn-epoch-1:2.0-2.noarch\n",
		"tdnf":     "manager tdnf\ndarn-libfoo.x86_64 1.0-2 darn\ndarn-libfoo.x86_64 1.0-3 darn\ndarn-epoch.noarch 1:2.0-2 darn\n",
		"zypper": `manager zypper
<?xml version='1.0'?>
<stream><message type="info">Loading repository data...</message><search-result version="0.0"><solvable-list>
<solvable status="installed" name="darn-libfoo" kind="package" edition="1.0-1" arch="x86_64" repository="(System Packages)"/>
<solvable status="not-installed" name="darn-libfoo" kind="package" edition="1.0-3" arch="x86_64" repository="darn"/>
<solvable status="not-installed" name="darn-libfoo" kind="package" edition="1.0-2" arch="x86_64" repository="darn"/>
<solvable status="not-installed" name="darn-epoch" kind="package" edition="1:2.0-2" arch="noarch" repository="darn"/>
</solvable-list></search-result></stream>`,
	}
	for mgr, answer := range answers {
		p := testPlan()
		p.Items[0].Version, p.Items[1].Version = "", ""
		got, err := Family{}.Pin(p, []byte(answer), false)
		if err != nil {
			t.Errorf("%s: %v", mgr, err)
			continue
		}
		if v := []string{got.Items[0].Version, got.Items[1].Version}; !reflect.DeepEqual(v, []string{"1.0-2", "1:2.0-2"}) {
			t.Errorf("%s: pinned %v, want the lowest at or above the fix", mgr, v)
		}
	}
}

func TestPinMissing(t *testing.T) {
	answer := []byte("manager dnf\ndarn-libfoo 0:1.0-1 x86_64\n")
	if _, err := (Family{}).Pin(testPlan(), answer, false); err == nil {
		t.Error("a fix nobody offers must fail the pin")
	}
	got, err := Family{}.Pin(testPlan(), answer, true)
	if err != nil || got.Items[0].Action != plan.ActionUnavailable || len(got.Upgrades()) != 0 {
		t.Errorf("with ignore-errors: %+v, %v", got.Items, err)
	}
	if _, err := (Family{}).Pin(testPlan(), []byte("garbage"), false); err == nil {
		t.Error("an answer without a manager line must fail")
	}
}

func TestParseUpgradable(t *testing.T) {
	got, err := Family{}.ParseUpgradable([]byte("manager dnf\ndarn-libfoo 0:1.0-2 x86_64\ndarn-libfoo 0:1.0-3 x86_64\ndarn-epoch 1:2.0-2 noarch\n"))
	if err != nil || got["darn-libfoo"] != "1.0-3" || got["darn-epoch"] != "1:2.0-2" {
		t.Errorf("ParseUpgradable = %v, %v", got, err)
	}
}
