package advisorydb

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	dbtypes "github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/azure"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/rocky"
	susecvrf "github.com/aquasecurity/trivy-db/pkg/vulnsrc/suse-cvrf"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
	"github.com/aquasecurity/trivy/pkg/detector/ospkg"
	ftypes "github.com/aquasecurity/trivy/pkg/fanal/types"
	"github.com/aquasecurity/trivy/pkg/types"
	trivyvuln "github.com/aquasecurity/trivy/pkg/vulnerability"
)

// openDB builds advs into a fresh cache and opens it as Trivy does.
func openDB(t *testing.T, advs []Advisory) {
	t.Helper()
	cache := t.TempDir()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	if err := Build(cache, advs, Options{Now: now, ValidFor: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := db.Init(Dir(cache)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
}

// getters are the trivy-db lookups Trivy's Rocky, Azure Linux and openSUSE
// Leap detectors make, with the release each passes for the test bed's
// VERSION_ID ("9.4" → "9", "3.0", "15.6").
var getters = map[string]func(pkg, arch string) ([]dbtypes.Advisory, error){
	"rocky": func(pkg, arch string) ([]dbtypes.Advisory, error) {
		return rocky.NewVulnSrc().Get(db.GetParams{Release: "9", PkgName: pkg, Arch: arch})
	},
	"azurelinux": func(pkg, _ string) ([]dbtypes.Advisory, error) {
		return azure.NewVulnSrc(azure.Azure).Get(db.GetParams{Release: "3.0", PkgName: pkg})
	},
	"opensuse-leap": func(pkg, _ string) ([]dbtypes.Advisory, error) {
		return susecvrf.NewVulnSrc(susecvrf.OpenSUSE).Get(db.GetParams{Release: "15.6", PkgName: pkg})
	},
}

// Build's RPM advisories read back through trivy-db's own vulnsrc Gets.
func TestBuildRPM(t *testing.T) {
	arches := []string{"x86_64", "aarch64"}
	epoch := rpmAdv("rocky", "9", "darn-epoch", "DARN-3", "1:2.0-2", "LOW")
	epoch.Arches = arches
	var advs []Advisory
	for _, d := range []struct{ name, release string }{{"azurelinux", "3.0"}, {"opensuse-leap", "15.6"}} {
		advs = append(advs, rpmAdv(d.name, d.release, "darn-libfoo", "DARN-1", "1.0-2", "HIGH"),
			rpmAdv(d.name, d.release, "darn-epoch", "DARN-3", "1:2.0-2", "LOW"))
	}
	advs = append(advs, rpmAdv("rocky", "9", "darn-libfoo", "DARN-1", "1.0-2", "HIGH"), epoch)
	openDB(t, advs)

	tests := []struct{ distro, pkg, arch, want string }{
		{"rocky", "darn-libfoo", "x86_64", "DARN-1 1.0-2"},
		{"rocky", "darn-libfoo", "noarch", "DARN-1 1.0-2"}, // no arches: every arch
		{"rocky", "darn-epoch", "x86_64", "DARN-3 1:2.0-2"},
		{"rocky", "darn-epoch", "aarch64", "DARN-3 1:2.0-2"},
		{"rocky", "darn-epoch", "noarch", ""},
		{"rocky", "darn-unrelated", "x86_64", ""},
		{"azurelinux", "darn-libfoo", "", "DARN-1 1.0-2"},
		{"azurelinux", "darn-epoch", "", "DARN-3 1:2.0-2"},
		{"azurelinux", "darn-unrelated", "", ""},
		{"opensuse-leap", "darn-libfoo", "", "DARN-1 1.0-2"},
		{"opensuse-leap", "darn-epoch", "", "DARN-3 1:2.0-2"},
		{"opensuse-leap", "darn-unrelated", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.distro+"/"+tc.pkg+"/"+tc.arch, func(t *testing.T) {
			checkRPMAdvisories(t, tc.distro, tc.pkg, tc.arch, tc.want)
		})
	}
	if !slices.Equal(epoch.Arches, []string{"x86_64", "aarch64"}) {
		t.Errorf("Build reordered the caller's arches: %q", epoch.Arches)
	}
	checkVendorSeverity(t, "DARN-1", dbtypes.SeverityHigh)
	checkBuckets(t, []string{"Azure Linux 3.0", "data-source", "openSUSE Leap 15.6", "rocky 9", "vulnerability"})
}

// checkRPMAdvisories compares a package's advisories, as "ID fixed", and
// checks that their data source is the distro's, so that Trivy takes the
// severity from it.
func checkRPMAdvisories(t *testing.T, distro, pkg, arch, want string) {
	t.Helper()
	advs, err := getters[distro](pkg, arch)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range advs {
		got = append(got, a.VulnerabilityID+" "+a.FixedVersion)
		if a.DataSource == nil || a.DataSource.ID != distros[distro].source.ID {
			t.Errorf("%s: data source %+v, want %s", a.VulnerabilityID, a.DataSource, distros[distro].source.ID)
		}
	}
	if strings.Join(got, ", ") != want {
		t.Errorf("advisories %q, want %q", got, want)
	}
}

// checkVendorSeverity checks that every RPM distro's source gives id its
// severity.
func checkVendorSeverity(t *testing.T, id string, want dbtypes.Severity) {
	t.Helper()
	v, err := db.Config{}.GetVulnerability(id)
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []dbtypes.SourceID{vulnerability.Rocky, vulnerability.AzureLinux, vulnerability.SuseCVRF} {
		if v.VendorSeverity[src] != want {
			t.Errorf("%s: %s severity %v, want %v (%+v)", id, src, v.VendorSeverity[src], want, v)
		}
	}
}

// bedPackage is one of the test bed's RPM packages, as Trivy's rpm and
// rpmqa analyzers report it (source RPM named as the binary).
func bedPackage(name string, epoch int, release string, class ftypes.RepositoryClass) ftypes.Package {
	version := "1.0"
	if epoch != 0 {
		version = "2.0"
	}
	return ftypes.Package{
		ID: name + "@" + version + "-" + release + ".x86_64", Name: name, Epoch: epoch, Version: version, Release: release,
		Arch: "x86_64", SrcName: name, SrcEpoch: epoch, SrcVersion: version, SrcRelease: release,
		Repository: ftypes.PackageRepository{Class: class},
	}
}

// bedPackages are the test bed's packages at a release (1 installed, 2 fixed).
func bedPackages(release string, class ftypes.RepositoryClass) ftypes.Packages {
	return ftypes.Packages{
		bedPackage("darn-libfoo", 0, release, class), bedPackage("darn-conf", 0, release, class),
		bedPackage("darn-unrelated", 0, release, class), bedPackage("darn-epoch", 1, release, class),
	}
}

// Trivy v0.74.0's own OS package detection, over a database built from the
// test bed's advisories files, reports exactly the advisories above the
// bed's RPM images' installed versions, with the distros' severities.
func TestTrivyDetectsBedAdvisories(t *testing.T) {
	openDB(t, parseBedAdvisories(t))
	all := []string{
		"darn-conf DARN-2026-0002 1.0-1 1.0-2 MEDIUM",
		"darn-epoch DARN-2026-0003 1:2.0-1 1:2.0-2 LOW",
		"darn-libfoo DARN-2026-0001 1.0-1 1.0-2 HIGH",
	}
	official, thirdParty := ftypes.RepositoryClassOfficial, ftypes.RepositoryClassThirdParty
	tests := []struct {
		name string
		os   ftypes.OS
		pkgs ftypes.Packages
		want []string
	}{
		{"rocky rpmdb", ftypes.OS{Family: ftypes.Rocky, Name: "9.4"}, bedPackages("1", official), all},
		{"rocky fixed", ftypes.OS{Family: ftypes.Rocky, Name: "9.4"}, bedPackages("2", official), nil},
		// An rpmdb Vendor that is not an OS vendor's ("darn test").
		{"rocky third-party vendor", ftypes.OS{Family: ftypes.Rocky, Name: "9.4"}, bedPackages("1", thirdParty), nil},
		// container-manifest-2 carries no repository class.
		{"azurelinux manifest", ftypes.OS{Family: ftypes.Azure, Name: "3.0"}, bedPackages("1", ""), all},
		{"azurelinux fixed", ftypes.OS{Family: ftypes.Azure, Name: "3.0"}, bedPackages("2", ""), nil},
		{"opensuse-leap rpmdb", ftypes.OS{Family: ftypes.OpenSUSELeap, Name: "15.6"}, bedPackages("1", official), all},
		{"opensuse-leap fixed", ftypes.OS{Family: ftypes.OpenSUSELeap, Name: "15.6"}, bedPackages("2", official), nil},
		{"opensuse-leap third-party vendor", ftypes.OS{Family: ftypes.OpenSUSELeap, Name: "15.6"}, bedPackages("1", thirdParty), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := detect(t, tc.os, tc.pkgs)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Trivy reports %q, want %q", got, tc.want)
			}
		})
	}
}

// detect runs Trivy's OS package detector and fills severities as a scan
// does (--vuln-severity-source auto), returning "pkg ID installed fixed
// severity" sorted; a severity from another source than the distro's own is
// an error.
func detect(t *testing.T, os ftypes.OS, pkgs ftypes.Packages) []string {
	t.Helper()
	d, err := ospkg.NewDetector(types.ScanTarget{OS: os, Packages: pkgs})
	if err != nil {
		t.Fatal(err)
	}
	vulns, _, err := d.Detect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	trivyvuln.NewClient(db.Config{}).FillInfo(vulns, []dbtypes.SourceID{"auto"})
	var got []string
	for _, v := range vulns {
		// Severity is what Trivy's reports show as the finding's severity.
		sev := v.Severity //nolint:staticcheck // see above
		got = append(got, strings.Join([]string{v.PkgName, v.VulnerabilityID, v.InstalledVersion, v.FixedVersion, sev}, " "))
		if want := distros[string(os.Family)].source.ID; v.SeveritySource != want {
			t.Errorf("%s %s: severity source %q, want %q", v.PkgName, v.VulnerabilityID, v.SeveritySource, want)
		}
	}
	slices.Sort(got)
	return got
}
