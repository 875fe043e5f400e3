package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/integration/testreport"
)

// rpmEnv reads a variable of the bed's RPM world, failing when it is
// missing.
func rpmEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("the test bed lacks %s: run `make testbed`", name)
	}
	return v
}

// rpmArches lists the architecture of each package of an rpm database,
// read with the host's rpm.
func rpmArches(t *testing.T, sqlite []byte) map[string]string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rpmdb.sqlite"), sqlite, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("rpm", "--dbpath", dir, "-qa", "--qf", `%{NAME} %{ARCH}\n`).Output()
	if err != nil {
		t.Fatalf("rpm -qa on the patched database: %v", err)
	}
	got := map[string]string{}
	for line := range strings.Lines(string(out)) {
		name, arch, _ := strings.Cut(strings.TrimSpace(line), " ")
		got[name] = arch
	}
	return got
}

// An index of a dnf image for amd64 and arm64, scanned per platform by
// Trivy: both platforms patched from their own reports in one push, each
// with its own architecture's packages at exactly the fixed versions, its
// config and original layers kept; Trivy finds nothing left on either.
func TestRPMMultiPlatform(t *testing.T) {
	r := newRPMBed(t)
	multi := rpmEnv(t, "DARN_RPM_MULTI_IMAGE")
	tv := newTrivyBed(t)
	reports := t.TempDir()
	archs := map[string]string{"linux/amd64": "x86_64", "linux/arm64": "aarch64"}
	for p := range archs {
		s := tv.scanAny(t, multi, filepath.Join(reports, strings.ReplaceAll(p, "/", "-")+".json"), 1, "--exit-code", "1", "--platform", p)
		assertScanFinds(t, s, r.fixes)
	}
	tag := r.tag("multi")
	runPlugin(t, r.bed, 0, "patch", "image", multi, "--report", reports, "--tag", tag, "--push", "--progress", "plain")
	origIdx, origDigest := fetchIndexDigest(t, multi)
	origBy, _ := imageManifests(origIdx)
	idx, _ := fetchIndexDigest(t, tag)
	by, _ := imageManifests(idx)
	if len(by) != len(archs) {
		t.Fatalf("the patched index has %d platforms, want %d", len(by), len(archs))
	}
	for p, rpmArch := range archs {
		t.Run(strings.ReplaceAll(p, "/", "-"), func(t *testing.T) {
			orig := fetchImage(t, repoOf(t, multi)+"@"+origBy[p].Digest.String())
			patched := fetchImage(t, repoOf(t, tag)+"@"+by[p].Digest.String())
			assertOneLayerAdded(t, orig, patched)
			assertConfigKept(t, orig, patched)
			orig.Digest = origDigest // the lineage names the index
			assertLineage(t, orig, patched, r.cands())
			assertRPMDatabase(t, r, patched)
			arches := rpmArches(t, patched.fileFromLayers(t, "var/lib/rpm/rpmdb.sqlite"))
			for _, name := range []string{"darn-libfoo", "darn-libbar", "darn-epoch"} {
				if arches[name] != rpmArch {
					t.Errorf("%s of %s is %q, want %s", name, p, arches[name], rpmArch)
				}
			}
			after := tv.scanAny(t, repoOf(t, tag)+"@"+by[p].Digest.String(), filepath.Join(t.TempDir(), "rescan.json"), 0, "--exit-code", "1")
			assertScanFinds(t, after, nil)
		})
	}
}

// An image whose repository file names a host that does not exist is
// patched through a mirror given at patch time (--repo-mirror, and a
// source policy's CONVERT rule on the URL); its repository file stays
// byte-identical. Without a mirror the patch fails, saying why.
func TestRPMRepoMirror(t *testing.T) {
	r := newRPMBed(t)
	offline, offlineURL := rpmEnv(t, "DARN_RPM_OFFLINE_IMAGE"), rpmEnv(t, "DARN_RPM_OFFLINE_URL")
	dt, err := testreport.TrivyRPM(offline, distros.Release{ID: "rocky", VersionID: "9.4"}, r.testFixes())
	if err != nil {
		t.Fatal(err)
	}
	report := writeFile(t, "trivy.json", dt)
	args := func(tag string, extra ...string) []string {
		return append([]string{"patch", "image", offline, "--report", report, "--tag", tag, "--push", "--progress", "plain"}, extra...)
	}

	tag := r.tag("mirror")
	runPlugin(t, r.bed, 0, args(tag, "--repo-mirror", offlineURL+"="+r.repoURL)...)
	_, patched := assertRPMPatched(t, r, offline, tag)
	assertRPMDatabase(t, r, patched)
	for _, e := range patched.layerEntries(t, len(patched.Manifest.Layers)-1, func(string) bool { return false }) {
		if strings.HasPrefix(e.Name, "etc/yum.repos.d/") && !strings.HasSuffix(e.Name, "/") {
			t.Errorf("the patch changed the image's repository configuration: %s", e.Name)
		}
	}

	rule := fmt.Sprintf(`{"action":"CONVERT","selector":{"identifier":"%s","match_type":"EXACT"},"updates":{"identifier":"%s"}}`, offlineURL, r.repoURL)
	viaPolicy := r.tag("mirror-policy")
	runPlugin(t, r.bed, 0, args(viaPolicy, "--source-policy", policyFile(t, rule))...)
	assertRPMDatabase(t, r, fetchImage(t, viaPolicy))

	failed := r.tag("no-mirror")
	out := runPlugin(t, r.bed, 1, args(failed, "--no-cache")...)
	if !strings.Contains(out, "listing what the repositories offer failed") {
		t.Errorf("without a mirror the patch must fail on the unreachable repository, saying so:\n%s", out)
	}
	assertNotPushed(t, failed)
}
