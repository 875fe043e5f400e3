package advisorydb

import (
	"slices"
	"strings"
	"testing"

	"github.com/aquasecurity/trivy-db/pkg/db"
	dbtypes "github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/alpine"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/wolfi"
	"github.com/aquasecurity/trivy/pkg/detector/ospkg"
	ftypes "github.com/aquasecurity/trivy/pkg/fanal/types"
	"github.com/aquasecurity/trivy/pkg/types"
	trivyvuln "github.com/aquasecurity/trivy/pkg/vulnerability"
)

// apkAdv is an advisory of an apk distro, by origin.
func apkAdv(distro, release, pkg, id, fixed, sev string) Advisory {
	a := adv(pkg, id, fixed, sev)
	a.Distro, a.Release = distro, release
	return a
}

func TestParseAPK(t *testing.T) {
	with := func(a Advisory, f func(*Advisory)) Advisory { f(&a); return a }
	al := apkAdv("alpine", "3.20", "darn-tool", "CVE-2026-2", "2.3-r0", "MEDIUM")
	wo := apkAdv("wolfi", "", "darn-libfoo", "CVE-2026-1", "1.0-r2", "HIGH")
	tests := []struct {
		name    string
		dt      []byte
		wantErr string
	}{
		{"valid", advisoriesJSON(t, al, wo, with(al, func(a *Advisory) { a.VulnerabilityID = "GHSA-xxxx-yyyy-zzzz" })), ""},
		{"alpine point release", advisoriesJSON(t, with(al, func(a *Advisory) { a.Release = "3.20.3" })), `release "3.20.3" is not an Alpine major.minor`},
		{"alpine no release", advisoriesJSON(t, with(al, func(a *Advisory) { a.Release = "" })), "release is empty"},
		{"wolfi release", advisoriesJSON(t, with(wo, func(a *Advisory) { a.Release = "20230201" })), "one bucket for every release"},
		{"alpine other ID", advisoriesJSON(t, with(al, func(a *Advisory) { a.VulnerabilityID = "DARN-1" })), "not a CVE- or GHSA- ID"},
		{"wolfi GHSA", advisoriesJSON(t, with(wo, func(a *Advisory) { a.VulnerabilityID = "GHSA-xxxx-yyyy-zzzz" })), "not a CVE- ID"},
		{"binary name", advisoriesJSON(t, with(wo, func(a *Advisory) { a.Package = "darn-libfoo" })), "package is set: Trivy looks wolfi advisories up by source_package"},
		{"no package release", advisoriesJSON(t, with(al, func(a *Advisory) { a.FixedVersion = "2.3" })), "no -rN package release"},
		{"bad version", advisoriesJSON(t, with(al, func(a *Advisory) { a.FixedVersion = "v2.3-r0" })), `fixed_version "v2.3-r0": not an apk version`},
		{"arches", advisoriesJSON(t, with(al, func(a *Advisory) { a.Arches = []string{"x86_64"} })), "does not filter this distro's advisories by arch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkParse(t, tc.dt, tc.wantErr) })
	}
}

// Build's apk advisories read back through trivy-db's Alpine and Wolfi
// vulnsrc Gets, with the distro's data source and the NVD's severity.
func TestBuildAPK(t *testing.T) {
	openDB(t, []Advisory{
		apkAdv("alpine", "3.20", "darn-libfoo", "CVE-2026-1", "1.0-r2", "HIGH"),
		apkAdv("wolfi", "", "darn-libfoo", "CVE-2026-1", "1.0-r2", "HIGH"),
		apkAdv("wolfi", "", "darn-tool", "CVE-2026-2", "2.3-r0", "MEDIUM"),
	})
	al, err := alpine.NewVulnSrc().Get(db.GetParams{Release: "3.20", PkgName: "darn-libfoo"})
	checkSecDB(t, al, err, vulnerability.Alpine, "CVE-2026-1 1.0-r2")
	wo, err := wolfi.NewVulnSrc().Get(db.GetParams{PkgName: "darn-tool"})
	checkSecDB(t, wo, err, vulnerability.Wolfi, "CVE-2026-2 2.3-r0")
	none, err := alpine.NewVulnSrc().Get(db.GetParams{Release: "3.19", PkgName: "darn-libfoo"})
	checkSecDB(t, none, err, vulnerability.Alpine, "")
	v, err := db.Config{}.GetVulnerability("CVE-2026-2")
	if err != nil || v.VendorSeverity[vulnerability.NVD] != dbtypes.SeverityMedium {
		t.Errorf("CVE-2026-2: %+v, %v; want the NVD's severity MEDIUM", v, err)
	}
	checkBuckets(t, []string{"alpine 3.20", "data-source", "vulnerability", "wolfi"})
}

func checkSecDB(t *testing.T, advs []dbtypes.Advisory, err error, src dbtypes.SourceID, want string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range advs {
		got = append(got, a.VulnerabilityID+" "+a.FixedVersion)
		if a.DataSource == nil || a.DataSource.ID != src {
			t.Errorf("%s: data source %+v, want %s", a.VulnerabilityID, a.DataSource, src)
		}
	}
	if strings.Join(got, ", ") != want {
		t.Errorf("advisories %q, want %q", got, want)
	}
}

// bedAPKPackages are the test bed's apk images' packages as Trivy's apk
// analyzer reads them (origin as the source name), at the given versions.
func bedAPKPackages(libfoo, tool string) ftypes.Packages {
	var pkgs ftypes.Packages
	for _, p := range [][2]string{{"darn-libfoo", libfoo}, {"darn-other", "1.0-r0"}, {"darn-tool", tool}} {
		pkgs = append(pkgs, ftypes.Package{
			ID: p[0] + "@" + p[1], Name: p[0], Version: p[1], Arch: "x86_64",
			SrcName: p[0], SrcVersion: p[1],
		})
	}
	return pkgs
}

// Trivy v0.74.0's own detection, over a database built from the test
// bed's advisories files, reports darn-libfoo and darn-tool on both apk
// images (2.3_rc1-r0 below 2.3-r0), and nothing once they are fixed.
func TestTrivyDetectsBedAPKAdvisories(t *testing.T) {
	openDB(t, parseBedAdvisories(t))
	all := []string{"darn-libfoo CVE-2026-9990001 1.0-r0 1.0-r2 HIGH", "darn-tool CVE-2026-9990002 2.3_rc1-r0 2.3-r0 MEDIUM"}
	alpineOS := ftypes.OS{Family: ftypes.Alpine, Name: "3.20.3"}
	wolfiOS := ftypes.OS{Family: ftypes.Wolfi, Name: "20230201"}
	for _, tc := range []struct {
		name string
		os   ftypes.OS
		pkgs ftypes.Packages
		want []string
	}{
		{"alpine", alpineOS, bedAPKPackages("1.0-r0", "2.3_rc1-r0"), all},
		{"alpine fixed", alpineOS, bedAPKPackages("1.0-r2", "2.3-r0"), nil},
		{"alpine newer", alpineOS, bedAPKPackages("1.1-r0", "2.4-r0"), nil},
		{"wolfi", wolfiOS, bedAPKPackages("1.0-r0", "2.3_rc1-r0"), all},
		{"wolfi fixed", wolfiOS, bedAPKPackages("1.0-r2", "2.3-r0"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := detectAPK(t, tc.os, tc.pkgs); !slices.Equal(got, tc.want) {
				t.Errorf("Trivy reports %q, want %q", got, tc.want)
			}
		})
	}
}

// detectAPK is detect for the apk distros, whose severity is the NVD's.
func detectAPK(t *testing.T, os ftypes.OS, pkgs ftypes.Packages) []string {
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
		sev := v.Severity //nolint:staticcheck // what Trivy's reports show
		got = append(got, strings.Join([]string{v.PkgName, v.VulnerabilityID, v.InstalledVersion, v.FixedVersion, sev}, " "))
		if v.SeveritySource != vulnerability.NVD {
			t.Errorf("%s %s: severity source %q, want nvd", v.PkgName, v.VulnerabilityID, v.SeveritySource)
		}
	}
	slices.Sort(got)
	return got
}
