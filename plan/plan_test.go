package plan

import (
	"errors"
	"reflect"
	"testing"

	"github.com/darn-dev/darn/report"
)

// numeric compares versions as integers of the form "N"; good enough to
// test plan logic without a distro's ordering.
type numeric struct{}

func (numeric) Compare(a, b string) (int, error) {
	var x, y int
	if _, err := fmtSscan(a, &x); err != nil {
		return 0, err
	}
	if _, err := fmtSscan(b, &y); err != nil {
		return 0, err
	}
	return x - y, nil
}

func vuln(id string, fixed ...string) report.Vulnerability {
	return report.Vulnerability{ID: id, FixedVersions: fixed}
}

func TestBuild(t *testing.T) {
	rep := report.Report{Packages: []report.Package{
		{Name: "libc6", InstalledVersion: "1", Vulnerabilities: []report.Vulnerability{vuln("CVE-2", "3"), vuln("CVE-1", "5"), vuln("CVE-3")}},
		{Name: "openssl", InstalledVersion: "4", Vulnerabilities: []report.Vulnerability{vuln("CVE-4", "4")}},
		{Name: "gone", InstalledVersion: "1", Vulnerabilities: []report.Vulnerability{vuln("CVE-5", "2")}},
		{Name: "tar", InstalledVersion: "1", Vulnerabilities: []report.Vulnerability{vuln("CVE-6")}},
		{Name: "libc6", InstalledVersion: "1", Vulnerabilities: []report.Vulnerability{vuln("CVE-1", "5")}},
		{Name: "zlib", InstalledVersion: "1", Vulnerabilities: []report.Vulnerability{vuln("CVE-7", "2", "7", "9")}},
	}}
	installed := []Package{
		{Name: "libc6", Version: "2", Installed: true},
		{Name: "openssl", Version: "4", Installed: true},
		{Name: "gone", Version: "1", Installed: false},
		{Name: "tar", Version: "1", Installed: true},
		{Name: "zlib", Version: "6", Installed: true},
	}
	got, err := Build(rep, installed, numeric{})
	if err != nil {
		t.Fatal(err)
	}
	want := Plan{Items: []Item{
		{Name: "gone", Fixed: "2", Action: ActionNotInstalled, Fixes: []string{"CVE-5"}},
		// The highest fix wins; the installed version comes from the DB.
		{Name: "libc6", Installed: "2", Fixed: "5", Action: ActionUpgrade, Fixes: []string{"CVE-1", "CVE-2"}, Unfixed: []string{"CVE-3"}},
		{Name: "openssl", Installed: "4", Fixed: "4", Action: ActionAlreadyFixed, Fixes: []string{"CVE-4"}},
		{Name: "tar", Installed: "1", Action: ActionNoFix, Unfixed: []string{"CVE-6"}},
		// Of several branch fixes, the lowest above the installed one.
		{Name: "zlib", Installed: "6", Fixed: "7", Action: ActionUpgrade, Fixes: []string{"CVE-7"}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("plan mismatch\n got: %+v\nwant: %+v", got, want)
	}
	if ups := got.Upgrades(); len(ups) != 2 || ups[0].Name != "libc6" || ups[1].Name != "zlib" {
		t.Errorf("Upgrades() = %+v", ups)
	}
	if got.Err() != nil {
		t.Errorf("Err() = %v, want nil", got.Err())
	}
}

func TestBuildNothingToPatch(t *testing.T) {
	rep := report.Report{Packages: []report.Package{{Name: "tar", Vulnerabilities: []report.Vulnerability{vuln("CVE-1")}}}}
	plan, err := Build(rep, []Package{{Name: "tar", Version: "1", Installed: true}}, numeric{})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(plan.Err(), ErrNothingToPatch) {
		t.Fatalf("Err() = %v, want ErrNothingToPatch", plan.Err())
	}
}

func TestBuildBadVersion(t *testing.T) {
	rep := report.Report{Packages: []report.Package{{Name: "tar", Vulnerabilities: []report.Vulnerability{vuln("CVE-1", "x")}}}}
	_, err := Build(rep, []Package{{Name: "tar", Version: "1", Installed: true}}, numeric{})
	if err == nil {
		t.Fatal("want an error for an unparseable version")
	}
}

func TestAllUpgrades(t *testing.T) {
	installed := []Package{
		{Name: "b", Version: "1", Installed: true},
		{Name: "a", Version: "2", Installed: true},
		{Name: "c", Version: "3", Installed: true},
		{Name: "gone", Version: "1", Installed: false},
	}
	plan, err := AllUpgrades(installed, map[string]string{"a": "3", "b": "4", "c": "3", "gone": "9"}, numeric{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{Name: "a", Installed: "2", Fixed: "3", Action: ActionUpgrade}, {Name: "b", Installed: "1", Fixed: "4", Action: ActionUpgrade}}
	if !reflect.DeepEqual(plan.Items, want) {
		t.Errorf("AllUpgrades = %+v, want %+v", plan.Items, want)
	}
}

// LeaveOut marks planned packages and adds those the policy took out of
// the report, in name order, each with its rule.
func TestLeaveOut(t *testing.T) {
	p := Plan{Items: []Item{
		{Name: "libc6", Installed: "2.36-9", Fixed: "2.36-10", Action: ActionUpgrade},
		{Name: "tar", Installed: "1.34", Fixed: "1.35", Action: ActionUpgrade},
	}}
	installed := []Package{{Name: "apt", Version: "2.6.1", Installed: true}, {Name: "libc6", Version: "2.36-9", Installed: true}}
	got := LeaveOut(p, installed, map[string]string{"tar": "p.yaml:3:5: packages.exclude tar", "apt": "p.yaml:2:11: severity low is below the floor high"})
	want := []Item{
		{Name: "apt", Installed: "2.6.1", Action: ActionLeftOut, Reason: "p.yaml:2:11: severity low is below the floor high"},
		{Name: "libc6", Installed: "2.36-9", Fixed: "2.36-10", Action: ActionUpgrade},
		{Name: "tar", Installed: "1.34", Fixed: "1.35", Action: ActionLeftOut, Reason: "p.yaml:3:5: packages.exclude tar"},
	}
	if !reflect.DeepEqual(got.Items, want) {
		t.Errorf("LeaveOut = %+v\nwant %+v", got.Items, want)
	}
	if len(got.Upgrades()) != 1 {
		t.Errorf("only libc6 is upgraded: %+v", got.Upgrades())
	}
}
