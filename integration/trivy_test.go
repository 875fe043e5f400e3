package integration

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/darn-dev/darn/distros/deb"
)

// bedAdvisories is what the bed's Trivy DB is built from
// (integration/testbed/trivy.sh).
const bedAdvisories = "testdata/advisories/debian-12-bookworm-security.json"

// The real loop: Trivy scans the test image in the registry, docker patch
// fixes exactly what that report says, and a rescan of the patched image
// finds nothing fixable. Trivy runs offline on a DB built from
// bedAdvisories, so what it must report follows from the image's packages.
func TestTrivyScanPatchRescan(t *testing.T) {
	b := testBed(t)
	tv := newTrivyBed(t)
	dir := t.TempDir()

	// The same exit code flags as the rescan, so that its exit 0 means
	// something: here they must fail the scan.
	report := filepath.Join(dir, "report.json")
	before := tv.scan(t, b.TestImage, report, 1, "--exit-code", "1", "--ignore-unfixed")
	found := fixable(before)
	if len(found) == 0 {
		t.Fatalf("Trivy reports nothing fixable in %s: the test image must carry pending fixes", b.TestImage)
	}
	if want := expectedFindings(t, before); !maps.Equal(found, want) {
		t.Fatalf("Trivy's fixable findings differ from the advisories:\n got %v\nwant %v", slices.Sorted(maps.Keys(found)), slices.Sorted(maps.Keys(want)))
	}
	t.Logf("Trivy: %d fixable findings in %s", len(found), b.TestImage)

	tag := fmt.Sprintf("%s/darn-test/trivy:%d", b.Registry, time.Now().UnixNano())
	out := runPlugin(t, b, 0, "patch", "image", b.TestImage, "--report", report, "--tag", tag, "--push", "--progress", "plain")
	if !strings.Contains(out, "patched image: "+tag) {
		t.Errorf("plugin output does not name the patched image %s:\n%s", tag, out)
	}
	assertOneLayerAdded(t, fetchImage(t, b.TestImage), fetchImage(t, tag))

	after := tv.scan(t, tag, filepath.Join(dir, "rescan.json"), 0, "--exit-code", "1", "--ignore-unfixed")
	if left := fixable(after); len(left) != 0 {
		t.Errorf("the rescan of %s still finds fixable vulnerabilities: %v", tag, slices.Sorted(maps.Keys(left)))
	}
	assertStillScanned(t, before, after)
}

// trivyBed is Trivy and its offline DB, from integration/testbed/trivy.sh.
type trivyBed struct {
	bin, cache string
}

// newTrivyBed returns the bed's Trivy, skipping (or failing, with
// DARN_REQUIRE_INTEGRATION=1) when the bed has none.
func newTrivyBed(t *testing.T) trivyBed {
	t.Helper()
	tv := trivyBed{bin: os.Getenv("DARN_TRIVY"), cache: os.Getenv("DARN_TRIVY_CACHE")}
	if tv.bin == "" || tv.cache == "" {
		msg := "no Trivy in the test bed: run integration/testbed/trivy.sh (it sets DARN_TRIVY and DARN_TRIVY_CACHE in .testbed/env)"
		if os.Getenv("DARN_REQUIRE_INTEGRATION") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return tv
}

// scan runs `trivy image` on a Debian 12 image in the registry, writes
// its JSON report to out and parses it. Trivy must exit with wantExit.
func (tv trivyBed) scan(t *testing.T, image, out string, wantExit int, extra ...string) trivyScan {
	t.Helper()
	s := tv.scanAny(t, image, out, wantExit, extra...)
	if s.Metadata.OS.Family != "debian" || !strings.HasPrefix(s.Metadata.OS.Name, "12") {
		t.Fatalf("Trivy detected %+v in %s, want debian 12", s.Metadata.OS, image)
	}
	return s
}

// scanAny runs `trivy image` on an image in the registry, of any
// distribution, writes its JSON report to out and parses it.
func (tv trivyBed) scanAny(t *testing.T, image, out string, wantExit int, extra ...string) trivyScan {
	t.Helper()
	args := []string{
		"image", "--cache-dir", tv.cache,
		// Never online: no DB or Java DB download, no online lookups, no
		// version check or telemetry.
		"--skip-db-update", "--skip-java-db-update", "--offline-scan", "--skip-version-check", "--disable-telemetry",
		// Scan results stay in memory: the bed's cache holds only the DB.
		"--cache-backend", "memory",
		"--image-src", "remote", "--scanners", "vuln", "--list-all-pkgs", "--format", "json", "--output", out, "--quiet",
	}
	cmd := exec.Command(tv.bin, append(append(args, extra...), image)...)
	// TRIVY_* variables are flags too (TRIVY_SERVER would scan remotely).
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TRIVY_") })
	b, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != wantExit {
		t.Fatalf("trivy %s: %v (want exit %d)\n%s", strings.Join(cmd.Args[1:], " "), err, wantExit, b)
	}
	dt, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var s trivyScan
	if err := json.Unmarshal(dt, &s); err != nil {
		t.Fatalf("parsing Trivy's report of %s: %v", image, err)
	}
	return s
}

// trivyScan is the part of a Trivy JSON report (SchemaVersion 2) the test
// reads.
type trivyScan struct {
	Metadata struct {
		OS struct{ Family, Name string }
	}
	Results []struct {
		Class           string
		Packages        []trivyPackage
		Vulnerabilities []struct {
			VulnerabilityID, PkgName, InstalledVersion, FixedVersion, Severity string
		}
	}
}

// trivyPackage is an installed package as Trivy lists it (--list-all-pkgs).
type trivyPackage struct {
	Name, SrcName, SrcVersion, SrcRelease string
	SrcEpoch                              int
}

// srcVersion is the source package's full version, which Trivy's Debian
// detector compares with an advisory's fixed version.
func (p trivyPackage) srcVersion() string {
	v := p.SrcVersion
	if p.SrcRelease != "" {
		v += "-" + p.SrcRelease
	}
	if p.SrcEpoch != 0 {
		v = fmt.Sprintf("%d:%s", p.SrcEpoch, v)
	}
	return v
}

// packages lists the OS packages a scan found.
func (s trivyScan) packages() []trivyPackage {
	var out []trivyPackage
	for _, r := range s.Results {
		if r.Class == "os-pkgs" {
			out = append(out, r.Packages...)
		}
	}
	return out
}

// fixable returns the scan's findings that have a fix, as
// "binary-package vuln-id fixed-version severity".
func fixable(s trivyScan) map[string]bool {
	out := map[string]bool{}
	for _, r := range s.Results {
		for _, v := range r.Vulnerabilities {
			if v.FixedVersion != "" {
				out[strings.Join([]string{v.PkgName, v.VulnerabilityID, v.FixedVersion, v.Severity}, " ")] = true
			}
		}
	}
	return out
}

// expectedFindings is what Trivy must report for the scanned packages:
// every advisory of a package's source whose fixed version is newer than
// the installed source version, by darn's own version ordering. Advisories
// fixed at or below the installed version (the file's controls) must not
// be reported.
func expectedFindings(t *testing.T, s trivyScan) map[string]bool {
	t.Helper()
	bySource := map[string][]bedAdvisory{}
	for _, a := range readBedAdvisories(t) {
		bySource[a.SourcePackage] = append(bySource[a.SourcePackage], a)
	}
	want, controls := map[string]bool{}, 0
	for _, p := range s.packages() {
		for _, a := range bySource[p.SrcName] {
			c, err := deb.Versions{}.Compare(p.srcVersion(), a.FixedVersion)
			if err != nil {
				t.Fatal(err)
			}
			if c >= 0 {
				controls++
				continue
			}
			want[strings.Join([]string{p.Name, a.VulnerabilityID, a.FixedVersion, strings.ToUpper(a.Severity)}, " ")] = true
		}
	}
	t.Logf("%d findings expected, %d advisories already fixed in installed packages", len(want), controls)
	return want
}

// bedAdvisory is one entry of bedAdvisories.
type bedAdvisory struct {
	SourcePackage   string `json:"source_package"`
	VulnerabilityID string `json:"vulnerability_id"`
	FixedVersion    string `json:"fixed_version"`
	Severity        string `json:"severity"`
}

func readBedAdvisories(t *testing.T) []bedAdvisory {
	t.Helper()
	dt, err := os.ReadFile(bedAdvisories)
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Advisories []bedAdvisory }
	if err := json.Unmarshal(dt, &f); err != nil || len(f.Advisories) == 0 {
		t.Fatalf("reading %s: %v (%d advisories)", bedAdvisories, err, len(f.Advisories))
	}
	return f.Advisories
}

// assertStillScanned checks that the rescan saw every package the first
// scan found vulnerable, so that "nothing fixable" is not "nothing seen".
func assertStillScanned(t *testing.T, before, after trivyScan) {
	t.Helper()
	seen := map[string]bool{}
	for _, p := range after.packages() {
		seen[p.Name] = true
	}
	for _, r := range before.Results {
		for _, v := range r.Vulnerabilities {
			if !seen[v.PkgName] {
				t.Errorf("the rescan does not list %s, reported vulnerable before", v.PkgName)
			}
		}
	}
}
