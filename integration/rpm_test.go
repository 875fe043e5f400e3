package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"
	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/package-url/packageurl-go"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/distros/rpm"
	"github.com/darn-dev/darn/integration/testreport"
)

// The default tooling images of the bed's releases, as darn names them;
// the tests map them to the bed's tooling image with a source policy.
const (
	rockyTooling = "docker.io/rockylinux/rockylinux:9"
	azureTooling = "mcr.microsoft.com/azurelinux/base/core:3.0"
)

// rpmBed is the test bed's RPM world (integration/testbed/rpm.sh): signed
// test packages in a repository on loopback, and images with real rpm
// databases (or Azure Linux's container manifest) that point at it.
type rpmBed struct {
	bed
	dnf, rpmdb, manifest, zypper, tooling string
	toolingDigest, zypperDigest           string
	repoURL, tamperedURL                  string
	// installed and fixes map package names to versions (EVR): what the
	// images have, and the fixed versions the bed's advisories name.
	installed, fixes map[string]string
}

func newRPMBed(t *testing.T) rpmBed {
	t.Helper()
	r := rpmBed{bed: testBed(t)}
	for _, v := range []struct {
		dst  *string
		name string
	}{
		{&r.dnf, "DARN_RPM_DNF_IMAGE"},
		{&r.rpmdb, "DARN_RPM_RPMDB_IMAGE"},
		{&r.manifest, "DARN_RPM_MANIFEST_IMAGE"},
		{&r.zypper, "DARN_RPM_ZYPPER_IMAGE"},
		{&r.tooling, "DARN_RPM_TOOLING_IMAGE"},
		{&r.toolingDigest, "DARN_RPM_TOOLING_IMAGE_DIGEST"},
		{&r.zypperDigest, "DARN_RPM_ZYPPER_IMAGE_DIGEST"},
		{&r.repoURL, "DARN_RPM_REPO_URL"},
		{&r.tamperedURL, "DARN_RPM_TAMPERED_REPO_URL"},
	} {
		if *v.dst = os.Getenv(v.name); *v.dst == "" {
			t.Fatalf("the test bed lacks %s: run `make testbed`", v.name)
		}
	}
	r.installed = versionList(t, "DARN_RPM_INSTALLED")
	r.fixes = versionList(t, "DARN_RPM_FIXES")
	return r
}

// versionList reads NAME=EVR,... from the environment.
func versionList(t *testing.T, name string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for kv := range strings.SplitSeq(os.Getenv(name), ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("the test bed's %s is not NAME=EVR,...: %q", name, os.Getenv(name))
		}
		m[k] = v
	}
	return m
}

func (r rpmBed) tag(name string) string {
	return fmt.Sprintf("%s/darn-test/rpm-patched:%s-%d", r.Registry, name, time.Now().UnixNano())
}

// testFixes are the bed's fixes as report entries, with the advisories'
// IDs (integration/testdata/advisories/rpm-test.json).
func (r rpmBed) testFixes() []testreport.Fix {
	ids := map[string]string{"darn-libfoo": "DARN-2026-0001", "darn-conf": "DARN-2026-0002", "darn-epoch": "DARN-2026-0003"}
	var out []testreport.Fix
	for name, fixed := range r.fixes {
		out = append(out, testreport.Fix{Name: name, Installed: r.installed[name], Fixed: fixed, ID: ids[name]})
	}
	slices.SortFunc(out, func(a, b testreport.Fix) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// want is what every patched RPM image must hold: each fix at exactly the
// fixed version (the repository also has a newer darn-libfoo, which a
// minimal patch leaves alone), the new dependency darn-libbar, and every
// other package as it was.
func (r rpmBed) want() map[string]string {
	w := map[string]string{"darn-libbar": "2.0-1"}
	for name, v := range r.installed {
		w[name] = v
	}
	for name, v := range r.fixes {
		w[name] = v
	}
	return w
}

// cands names the fixed packages for assertLineage.
func (r rpmBed) cands() []testreport.Candidate {
	var c []testreport.Candidate
	for name := range r.fixes {
		c = append(c, testreport.Candidate{Name: name})
	}
	return c
}

// writeFile writes dt into a fresh directory and returns its path.
func writeFile(t *testing.T, name string, dt []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, dt, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rpmForbidden matches what must never reach an RPM patch layer: the
// package managers' metadata, caches, history and logs, downloaded
// packages, .rpmnew copies, darn's own paths and rpm's locks.
var rpmForbidden = regexp.MustCompile(`^(var/cache/(dnf|yum|zypp|tdnf|darn-pm)/.+|var/lib/(dnf|yum|zypp|tdnf|YaST2)/.+|` +
	`var/log/(dnf|hawkey|yum|zypp|zypper|tdnf|YaST2).*|.*\.rpmnew|.*\.rpm|var/lib/rpm/(\.rpm\.lock|__db\..*)|etc/dnf/.*|` +
	`run/darn(/.*)?|tmp/.+)$`)

// assertRPMPatched checks what every RPM patch must give: one layer on the
// untouched original, the config kept, darn's lineage, a clean layer and
// the image's own changed configuration file kept.
func assertRPMPatched(t *testing.T, r rpmBed, origRef, tag string) (registryImage, registryImage) {
	t.Helper()
	orig, patched := fetchImage(t, origRef), fetchImage(t, tag)
	assertOneLayerAdded(t, orig, patched)
	assertConfigKept(t, orig, patched)
	assertLineage(t, orig, patched, r.cands())
	var bad []string
	for _, e := range patched.layerEntries(t, len(patched.Manifest.Layers)-1, func(string) bool { return false }) {
		if rpmForbidden.MatchString(strings.TrimSuffix(e.Name, "/")) {
			bad = append(bad, e.Name)
		}
	}
	if len(bad) > 0 {
		t.Errorf("patch layer of %s holds %d forbidden entries: %v", tag, len(bad), bad)
	}
	if o, p := orig.fileFromLayers(t, "etc/darn/darn.conf"), patched.fileFromLayers(t, "etc/darn/darn.conf"); string(o) != string(p) {
		t.Errorf("the image's changed /etc/darn/darn.conf was replaced:\n%s\n->\n%s", o, p)
	}
	return orig, patched
}

// rpmQuery lists an rpm database with the host's rpm (an independent
// reader): name → EPOCH:VERSION-RELEASE, the epoch left out where it is 0.
func rpmQuery(t *testing.T, sqlite []byte) map[string]string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rpmdb.sqlite"), sqlite, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("rpm", "--dbpath", dir, "-qa", "--qf", `%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\n`).Output()
	if err != nil {
		t.Fatalf("rpm -qa on the patched database: %v", err)
	}
	got := map[string]string{}
	for line := range strings.Lines(string(out)) {
		name, evr, _ := strings.Cut(strings.TrimSpace(line), " ")
		if name != "gpg-pubkey" {
			got[name] = strings.TrimPrefix(evr, "0:")
		}
	}
	return got
}

// assertVersions compares the packages a database lists with want.
func assertVersions(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s: %s is %q, want %s", what, name, got[name], v)
		}
	}
	for name, v := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: unexpected package %s %s", what, name, v)
		}
	}
}

// assertRPMDatabase reads the patched image's rpm database back with rpm
// and with the go-rpmdb reader darn and Trivy use.
func assertRPMDatabase(t *testing.T, r rpmBed, patched registryImage) {
	t.Helper()
	db := patched.fileFromLayers(t, "var/lib/rpm/rpmdb.sqlite")
	assertVersions(t, "rpm -qa", rpmQuery(t, db), r.want())
	pkgs, err := rpm.ParseDatabase(db)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range pkgs {
		if p.Name != "gpg-pubkey" {
			got[p.Name] = p.Version
		}
	}
	assertVersions(t, "go-rpmdb", got, r.want())
}

// assertOldFilesGone checks the upgraded packages' old files are whited
// out: rpm removed them, as an upgrade does.
func assertOldFilesGone(t *testing.T, patched registryImage) {
	t.Helper()
	names := map[string]bool{}
	for _, e := range patched.layerEntries(t, len(patched.Manifest.Layers)-1, func(string) bool { return false }) {
		names[e.Name] = true
	}
	for _, f := range []string{"darn-libfoo-1.0-1", "darn-conf-1.0-1", "darn-epoch-2.0-1"} {
		if !names["usr/share/darn/.wh."+f] {
			t.Errorf("the patch layer does not remove /usr/share/darn/%s", f)
		}
	}
}

// assertRPMRuns runs rpm in the patched image, pulled back from the
// registry: it reads its database, and the upgraded files verify.
func assertRPMRuns(t *testing.T, r rpmBed, image string) {
	t.Helper()
	script := "set -e; rpm -q darn-libfoo darn-conf darn-epoch darn-libbar darn-unrelated > /out/q; rpm -V darn-libfoo darn-epoch darn-libbar > /out/v"
	st := llb.Image(image, llb.ResolveModeForcePull).User("root").Run(
		llb.Args([]string{"/bin/sh", "-c", script}),
		llb.AddEnv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
		llb.IgnoreCache,
	).AddMount("/out", llb.Scratch())
	files, err := testreport.ReadFiles(t.Context(), r.client(t), st, "q")
	if err != nil {
		t.Fatalf("running rpm in %s: %v", image, err)
	}
	for _, nvr := range []string{"darn-libfoo-1.0-2", "darn-conf-1.0-2", "darn-epoch-2.0-2", "darn-libbar-2.0-1", "darn-unrelated-1.0-1"} {
		if !strings.Contains(string(files["q"]), nvr+".") {
			t.Errorf("rpm -q in %s does not list %s:\n%s", image, nvr, files["q"])
		}
	}
}

// policyConvert writes a source policy that maps a default tooling image
// to the bed's.
func (r rpmBed) policyConvert(t *testing.T, from string) string {
	t.Helper()
	return policyFile(t, convertRule(from, r.tooling))
}

// A dnf image, patched from Trivy's own report with its own dnf: the fixes
// at exactly their fixed versions, their new dependency, nothing else;
// Trivy finds nothing left.
func TestRPMDNFFromTrivy(t *testing.T) {
	r := newRPMBed(t)
	tv := newTrivyBed(t)
	report := filepath.Join(t.TempDir(), "report.json")
	before := tv.scanAny(t, r.dnf, report, 1, "--exit-code", "1")
	assertScanFinds(t, before, r.fixes)
	tag := r.tag("dnf")
	vex := filepath.Join(t.TempDir(), "vex.json")
	out := runPlugin(t, r.bed, 0, "patch", "image", r.dnf, "--report", report, "--tag", tag, "--push", "--progress", "plain", "--vex", vex)
	if !strings.Contains(out, "dnf install") {
		t.Errorf("the patch did not run the image's dnf:\n%s", out)
	}
	assertRPMVEX(t, vex, r.fixes)
	_, patched := assertRPMPatched(t, r, r.dnf, tag)
	assertRPMDatabase(t, r, patched)
	assertOldFilesGone(t, patched)
	assertRPMRuns(t, r, tag)
	after := tv.scanAny(t, tag, filepath.Join(t.TempDir(), "rescan.json"), 0, "--exit-code", "1")
	assertScanFinds(t, after, nil)
}

// assertRPMVEX checks the OpenVEX document says each fix is fixed, naming
// the package by its rpm purl at its fixed version.
func assertRPMVEX(t *testing.T, file string, fixes map[string]string) {
	t.Helper()
	doc, err := openvex.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Statements) != len(fixes) {
		t.Errorf("%d VEX statements, want one per fix (%d)", len(doc.Statements), len(fixes))
	}
	got := map[string]string{}
	for _, st := range doc.Statements {
		if err := st.Validate(); err != nil || st.Status != openvex.StatusFixed {
			t.Errorf("statement %s: %s %v", st.Vulnerability.Name, st.Status, err)
		}
		for _, p := range st.Products {
			for _, c := range p.Subcomponents {
				u, err := packageurl.FromString(c.ID)
				if err != nil || u.Type != "rpm" || u.Namespace != "rocky" {
					t.Errorf("subcomponent %q is not a Rocky rpm purl: %v", c.ID, err)
					continue
				}
				v := u.Version
				if e := u.Qualifiers.Map()["epoch"]; e != "" {
					v = e + ":" + v
				}
				got[u.Name] = v
			}
		}
	}
	for name, v := range fixes {
		if got[name] != v {
			t.Errorf("VEX names %s at %q, want %s (subcomponents %v)", name, got[name], v, got)
		}
	}
}

// assertScanFinds checks a Trivy scan finds exactly the fixes given.
func assertScanFinds(t *testing.T, s trivyScan, fixes map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, res := range s.Results {
		for _, v := range res.Vulnerabilities {
			got[v.PkgName] = v.FixedVersion
		}
	}
	if len(got) != len(fixes) {
		t.Errorf("Trivy finds %v, want %v", got, fixes)
	}
	for name, fixed := range fixes {
		if got[name] != fixed {
			t.Errorf("Trivy: %s fixed in %q, want %s", name, got[name], fixed)
		}
	}
}

// A zypper image (openSUSE Leap), patched from Trivy's own report with
// its own zypper; Trivy finds nothing left.
func TestRPMZypperFromTrivy(t *testing.T) {
	r := newRPMBed(t)
	tv := newTrivyBed(t)
	report := filepath.Join(t.TempDir(), "report.json")
	assertScanFinds(t, tv.scanAny(t, r.zypper, report, 1, "--exit-code", "1"), r.fixes)
	tag := r.tag("zypper")
	out := runPlugin(t, r.bed, 0, "patch", "image", r.zypper, "--report", report, "--tag", tag, "--push", "--progress", "plain")
	if !strings.Contains(out, "zypper install") {
		t.Errorf("the patch did not run the image's zypper:\n%s", out)
	}
	_, patched := assertRPMPatched(t, r, r.zypper, tag)
	assertRPMDatabase(t, r, patched)
	assertOldFilesGone(t, patched)
	assertRPMRuns(t, r, tag)
	assertScanFinds(t, tv.scanAny(t, tag, filepath.Join(t.TempDir(), "rescan.json"), 0, "--exit-code", "1"), nil)
}

// An image with an rpm database and no package manager (no shell either),
// patched from the tooling image its release names (mapped to the bed's by
// a source policy; Trivy's own report): dnf --installroot writes into its
// root and database; and the same from a tooling image with zypper (a
// Grype report). Trivy finds nothing left.
func TestRPMDatabaseFromTooling(t *testing.T) {
	r := newRPMBed(t)
	tv := newTrivyBed(t)
	trivy := filepath.Join(t.TempDir(), "report.json")
	assertScanFinds(t, tv.scanAny(t, r.rpmdb, trivy, 1, "--exit-code", "1"), r.fixes)
	grype, err := testreport.GrypeRPM(r.rpmdb, distros.Release{ID: "rocky", VersionID: "9.4"}, r.testFixes())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, digest, report string
		args                 []string
	}{
		{"dnf", r.toolingDigest, trivy, []string{"--source-policy", r.policyConvert(t, rockyTooling)}},
		{"zypper", r.zypperDigest, writeFile(t, "grype.json", grype), []string{"--tooling-image", r.zypper}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tag := r.tag("rpmdb-" + tc.name)
			args := append([]string{"patch", "image", r.rpmdb, "--report", tc.report, "--tag", tag, "--push", "--progress", "plain"}, tc.args...)
			out := runPlugin(t, r.bed, 0, args...)
			if !strings.Contains(out, "patched from the tooling image") || !strings.Contains(out, tc.digest) {
				t.Errorf("the patch did not use the tooling image %s:\n%s", tc.digest, out)
			}
			_, patched := assertRPMPatched(t, r, r.rpmdb, tag)
			assertRPMDatabase(t, r, patched)
			assertOldFilesGone(t, patched)
			assertScanFinds(t, tv.scanAny(t, tag, filepath.Join(t.TempDir(), "rescan.json"), 0, "--exit-code", "1"), nil)
		})
	}
}

// An Azure Linux image that lists its packages in a container manifest,
// patched from Trivy's report through its release's tooling image: the
// verified packages unpacked into its root, the old versions' dropped
// files removed, the manifests rewritten; Trivy finds nothing left.
func TestRPMContainerManifest(t *testing.T) {
	r := newRPMBed(t)
	tv := newTrivyBed(t)
	report := filepath.Join(t.TempDir(), "report.json")
	before := tv.scanAny(t, r.manifest, report, 1, "--exit-code", "1")
	assertScanFinds(t, before, r.fixes)
	tag := r.tag("manifest")
	out := runPlugin(t, r.bed, 0, "patch", "image", r.manifest, "--report", report, "--tag", tag, "--push", "--progress", "plain",
		"--source-policy", r.policyConvert(t, azureTooling))
	if !strings.Contains(out, r.toolingDigest) {
		t.Errorf("the patch did not unpack with the tooling image %s:\n%s", r.toolingDigest, out)
	}
	_, patched := assertRPMPatched(t, r, r.manifest, tag)
	pkgs, err := rpm.ParseManifest(patched.fileFromLayers(t, "var/lib/rpmmanifest/container-manifest-2"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range pkgs {
		got[p.Name] = p.Version
	}
	assertVersions(t, "container-manifest-2", got, r.want())
	m1 := string(patched.fileFromLayers(t, "var/lib/rpmmanifest/container-manifest-1"))
	for _, nvra := range []string{"darn-libfoo-1.0-2.x86_64", "darn-libbar-2.0-1.x86_64", "darn-unrelated-1.0-1.noarch"} {
		if !strings.Contains(m1, nvra+"\n") {
			t.Errorf("container-manifest-1 lacks %s:\n%s", nvra, m1)
		}
	}
	assertOldFilesGone(t, patched)
	if dt := patched.fileFromLayers(t, "usr/share/darn/darn-libfoo.version"); strings.TrimSpace(string(dt)) != "1.0-2" {
		t.Errorf("darn-libfoo's file holds %q, want 1.0-2", dt)
	}
	after := tv.scanAny(t, tag, filepath.Join(t.TempDir(), "rescan.json"), 0, "--exit-code", "1")
	assertScanFinds(t, after, nil)
}

// A repository whose fix was altered (the bed's tampered copy, reached
// through --repo-mirror) fails every RPM path, and nothing is pushed.
func TestRPMTamperedRepository(t *testing.T) {
	r := newRPMBed(t)
	rocky, azure := distros.Release{ID: "rocky", VersionID: "9.4"}, distros.Release{ID: "azurelinux", VersionID: "3.0"}
	for _, tc := range []struct {
		name, image string
		rel         distros.Release
		args        []string
	}{
		{"dnf", r.dnf, rocky, nil},
		{"rpmdb", r.rpmdb, rocky, []string{"--tooling-image", r.tooling}},
		{"manifest", r.manifest, azure, []string{"--tooling-image", r.tooling}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dt, err := testreport.TrivyRPM(tc.image, tc.rel, r.testFixes())
			if err != nil {
				t.Fatal(err)
			}
			report := writeFile(t, "trivy.json", dt)
			tag := r.tag("tampered-" + tc.name)
			args := append([]string{
				"patch", "image", tc.image, "--report", report, "--tag", tag, "--push", "--progress", "plain",
				"--no-cache", "--repo-mirror", r.repoURL + "=" + r.tamperedURL,
			}, tc.args...)
			out := runPlugin(t, r.bed, 1, args...)
			if !tamperRefused.MatchString(out) {
				t.Errorf("the tampered darn-libfoo was not refused for its digest or signature:\n%s", out)
			}
			assertNotPushed(t, tag)
		})
	}
}

// tamperRefused matches dnf's and rpm's refusals of an altered package.
var tamperRefused = regexp.MustCompile(`(?i)(checksum doesn.t match|does not match|NOT OK|does not verify)`)
