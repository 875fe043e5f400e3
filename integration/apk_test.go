package integration

import (
	"archive/tar"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/distros/apk"
	"github.com/darn-dev/darn/integration/testreport"
)

// apkDefaultTooling matches the apk family's default tooling image as
// darn names it, darn's own image of darn's version (whatever version the
// plugin under test was built as); the tests map it to the frontend image
// the bed built, which holds darn-apk.
const apkDefaultTooling = "ghcr.io/darn-dev/darn:*"

// apkBed is the test bed's apk world (integration/testbed/apk.sh): real
// signed .apk packages and a signed APKINDEX on loopback, an Alpine-shaped
// image with a static busybox and a Wolfi-shaped index with no apk and no
// shell, both pointing at the repository.
type apkBed struct {
	bed
	alpine, wolfi, frontend                   string
	repoURL, tamperedPkgURL, tamperedIndexURL string
	installed, fixes                          map[string]string
}

func newAPKBed(t *testing.T) apkBed {
	t.Helper()
	a := apkBed{bed: testBed(t)}
	for _, v := range []struct {
		dst  *string
		name string
	}{
		{&a.alpine, "DARN_APK_ALPINE_IMAGE"},
		{&a.wolfi, "DARN_APK_WOLFI_IMAGE"},
		{&a.frontend, "DARN_FRONTEND_IMAGE"},
		{&a.repoURL, "DARN_APK_REPO_URL"},
		{&a.tamperedPkgURL, "DARN_APK_TAMPERED_PKG_URL"},
		{&a.tamperedIndexURL, "DARN_APK_TAMPERED_INDEX_URL"},
	} {
		*v.dst = rpmEnv(t, v.name)
	}
	a.installed = versionList(t, "DARN_APK_INSTALLED")
	a.fixes = versionList(t, "DARN_APK_FIXES")
	return a
}

func (a apkBed) tag(name string) string {
	return fmt.Sprintf("%s/darn-test/apk-patched:%s-%d", a.Registry, name, time.Now().UnixNano())
}

// policy maps the default tooling image to the bed's darn image.
func (a apkBed) policy(t *testing.T) string {
	t.Helper()
	return policyFile(t, fmt.Sprintf(`{"action":"CONVERT","selector":{"identifier":"docker-image://%s","match_type":"WILDCARD"},"updates":{"identifier":"docker-image://%s"}}`, apkDefaultTooling, a.frontend))
}

// testFixes are the bed's fixes as report entries, with the advisories'
// ids (integration/testdata/advisories/apk-test.json).
func (a apkBed) testFixes() []testreport.Fix {
	ids := map[string]string{"darn-libfoo": "CVE-2026-9990001", "darn-tool": "CVE-2026-9990002"}
	var out []testreport.Fix
	for _, name := range slices.Sorted(maps.Keys(a.fixes)) {
		out = append(out, testreport.Fix{Name: name, Installed: a.installed[name], Fixed: a.fixes[name], ID: ids[name]})
	}
	return out
}

// want is what every patched apk image must list: each fix at exactly
// its fixed version (the repository has newer ones), the new dependency
// darn-libbar, every other package as it was.
func (a apkBed) want() map[string]string {
	w := map[string]string{"darn-libbar": "2.0-r0"}
	maps.Copy(w, a.installed)
	maps.Copy(w, a.fixes)
	return w
}

func (a apkBed) cands() []testreport.Candidate {
	var c []testreport.Candidate
	for name := range a.fixes {
		c = append(c, testreport.Candidate{Name: name})
	}
	return c
}

// apkForbidden matches what must never reach an apk patch layer: indexes,
// package files, caches, locks, darn's temporary files and mounts.
var apkForbidden = regexp.MustCompile(`^(tmp/.+|run/darn(/.*)?|var/cache/apk/.+|.*APKINDEX.*|.*\.apk|.*\.darn-apk\..*|(usr/)?lib/apk/db/lock)$`)

// apkDB reads an image's installed database with darn's parser.
func apkDB(t *testing.T, img registryImage, dbPath string) []apk.Entry {
	t.Helper()
	entries, err := apk.ParseDatabase(img.fileFromLayers(t, dbPath))
	if err != nil {
		t.Fatalf("%s of %s: %v", dbPath, img.Ref, err)
	}
	return entries
}

func versionsOf(entries []apk.Entry) map[string]string {
	out := map[string]string{}
	for _, e := range entries {
		out[e.Name] = e.Version
	}
	return out
}

// filesOf lists the files an installed record names.
func filesOf(e apk.Entry) []string {
	var out []string
	dir := ""
	for _, l := range e.Lines {
		switch {
		case strings.HasPrefix(l, "F:"):
			dir = l[2:]
		case strings.HasPrefix(l, "R:"):
			out = append(out, path.Join(dir, l[2:]))
		}
	}
	return out
}

// assertAPKPatched checks one patched platform image: one layer on the
// untouched original, config kept, a clean layer, the database listing
// exactly want with arch, the old versions' files whited out and the new
// ones present, the image's changed configuration kept with the package's
// beside it as .apk-new.
func assertAPKPatched(t *testing.T, a apkBed, orig, patched registryImage, dbPath, arch string) {
	t.Helper()
	assertOneLayerAdded(t, orig, patched)
	assertConfigKept(t, orig, patched)
	layer := map[string]byte{}
	for _, e := range patched.layerEntries(t, len(patched.Manifest.Layers)-1, func(string) bool { return false }) {
		name := strings.TrimSuffix(e.Name, "/")
		layer[name] = e.Type
		if apkForbidden.MatchString(name) {
			t.Errorf("the patch layer of %s holds %s", patched.Ref, e.Name)
		}
	}
	before, after := apkDB(t, orig, dbPath), apkDB(t, patched, dbPath)
	assertVersions(t, "apk database", versionsOf(after), a.want())
	newFiles := map[string]bool{}
	for _, e := range after {
		if e.Arch != arch && e.Arch != "noarch" {
			t.Errorf("%s is built for %s, want %s", e.Name, e.Arch, arch)
		}
		if _, fixed := a.fixes[e.Name]; fixed || e.Name == "darn-libbar" {
			for _, f := range filesOf(e) {
				newFiles[f] = true
				if layer[f] != tar.TypeReg && layer[f] != tar.TypeSymlink && !strings.HasPrefix(f, "etc/") {
					t.Errorf("%s's /%s is not in the patch layer", e.Name, f)
				}
			}
		}
	}
	for _, e := range before {
		if _, fixed := a.fixes[e.Name]; !fixed {
			continue
		}
		for _, f := range filesOf(e) {
			if wh := path.Join(path.Dir(f), ".wh."+path.Base(f)); !newFiles[f] && layer[wh] == 0 {
				t.Errorf("%s %s's /%s is not removed by the patch layer", e.Name, e.Version, f)
			}
		}
	}
	assertConfKept(t, orig, patched, layer)
}

// assertConfKept checks every etc/darn file the image changed is kept and
// the package's version lands beside it as .apk-new.
func assertConfKept(t *testing.T, orig, patched registryImage, layer map[string]byte) {
	t.Helper()
	const conf = "etc/darn/libfoo.conf"
	if o, p := orig.fileFromLayers(t, conf), patched.fileFromLayers(t, conf); string(o) != string(p) {
		t.Errorf("the image's changed /%s was replaced:\n%s\n->\n%s", conf, o, p)
	}
	if layer[conf+".apk-new"] != tar.TypeReg {
		t.Errorf("the package's new /%s is not beside the image's as .apk-new", conf)
	}
}

// assertAPKVEX checks the OpenVEX statements name each fixed package by
// the apk purl Trivy uses, at its fixed version.
func assertAPKVEX(t *testing.T, file string, rel distros.Release, fixes map[string]string) {
	t.Helper()
	doc, err := openvex.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, st := range doc.Statements {
		if st.Status != openvex.StatusFixed {
			t.Errorf("statement %s is %s, want fixed", st.Vulnerability.Name, st.Status)
		}
		for _, p := range st.Products {
			for _, c := range p.Subcomponents {
				got[c.ID] = true
			}
		}
	}
	for name, v := range fixes {
		want := fmt.Sprintf("pkg:apk/%s/%s@%s?arch=x86_64&distro=%s", rel.ID, name, v, rel.VersionID)
		if !got[want] {
			t.Errorf("no fixed statement for %s (got %v)", want, slices.Sorted(maps.Keys(got)))
		}
	}
}

// assertBusyboxRuns runs the patched Alpine image's own busybox, pulled
// back from the registry, on a file of the patch.
func assertBusyboxRuns(t *testing.T, a apkBed, image string) {
	t.Helper()
	st := llb.Image(image, llb.ResolveModeForcePull).User("root").Run(
		llb.Args([]string{"/bin/sh", "-c", "cat /etc/alpine-release > /out/r && ls /lib/apk/db > /out/l"}),
		llb.IgnoreCache,
	).AddMount("/out", llb.Scratch())
	files, err := testreport.ReadFiles(t.Context(), a.client(t), st, "l")
	if err != nil {
		t.Fatalf("running busybox in %s: %v", image, err)
	}
	if !strings.Contains(string(files["l"]), "installed") {
		t.Errorf("ls /lib/apk/db in %s: %q", image, files["l"])
	}
}

// The Alpine-shaped image, scanned by Trivy and patched from its report
// through the default tooling image mapped by a source policy: the fixes
// at exactly their fixed versions, the new dependency, nothing else; the
// old files removed, the changed configuration kept; the image still runs
// its busybox; VEX names the packages as Trivy does; Trivy finds nothing
// left.
func TestAPKAlpineFromTrivy(t *testing.T) {
	a := newAPKBed(t)
	tv := newTrivyBed(t)
	report := filepath.Join(t.TempDir(), "report.json")
	assertScanFinds(t, tv.scanAny(t, a.alpine, report, 1, "--exit-code", "1"), a.fixes)
	tag, vex := a.tag("alpine"), filepath.Join(t.TempDir(), "vex.json")
	out := runPlugin(t, a.bed, 0, "patch", "image", a.alpine, "--report", report, "--tag", tag, "--push",
		"--progress", "plain", "--source-policy", a.policy(t), "--vex", vex)
	if !strings.Contains(out, "darn-apk upgrade") {
		t.Errorf("the patch did not run darn-apk:\n%s", out)
	}
	orig, patched := fetchImage(t, a.alpine), fetchImage(t, tag)
	assertAPKPatched(t, a, orig, patched, "lib/apk/db/installed", "x86_64")
	assertLineage(t, orig, patched, a.cands())
	assertAPKVEX(t, vex, distros.Release{ID: "alpine", VersionID: "3.20.3"}, a.fixes)
	assertBusyboxRuns(t, a, tag)
	assertScanFinds(t, tv.scanAny(t, tag, filepath.Join(t.TempDir(), "rescan.json"), 0, "--exit-code", "1"), nil)
}

// The Wolfi-shaped index (no apk, no shell, merged /usr), scanned by Trivy
// per platform, patched from Grype reports (one per platform) through
// --tooling-image: every platform gets its own architecture's fixes;
// Trivy finds nothing left on either.
func TestAPKWolfiFromGrype(t *testing.T) {
	a := newAPKBed(t)
	tv := newTrivyBed(t)
	reports := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		scan := tv.scanAny(t, a.wolfi, filepath.Join(t.TempDir(), "trivy.json"), 1, "--exit-code", "1", "--platform", "linux/"+arch)
		assertScanFinds(t, scan, a.fixes)
		dt, err := testreport.GrypeAPK(a.wolfi, arch, distros.Release{ID: "wolfi", VersionID: "20230201"}, a.testFixes())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(reports, "grype-"+arch+".json"), dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tag := a.tag("wolfi")
	runPlugin(t, a.bed, 0, "patch", "image", a.wolfi, "--report", reports,
		"--tooling-image", a.frontend, "--tag", tag, "--push", "--progress", "plain")
	origIdx, _ := fetchIndexDigest(t, a.wolfi)
	origBy, platforms := imageManifests(origIdx)
	idx, _ := fetchIndexDigest(t, tag)
	by, _ := imageManifests(idx)
	arches := map[string]string{"linux/amd64": "x86_64", "linux/arm64": "aarch64"}
	for _, p := range platforms {
		t.Run(strings.ReplaceAll(p, "/", "-"), func(t *testing.T) {
			orig := fetchImage(t, repoOf(t, a.wolfi)+"@"+origBy[p].Digest.String())
			patched := fetchImage(t, repoOf(t, tag)+"@"+by[p].Digest.String())
			assertAPKPatched(t, a, orig, patched, "usr/lib/apk/db/installed", arches[p])
			rescan := tv.scanAny(t, repoOf(t, tag)+"@"+by[p].Digest.String(), filepath.Join(t.TempDir(), "rescan.json"), 0, "--exit-code", "1")
			assertScanFinds(t, rescan, nil)
		})
	}
}

// A repository whose package bytes, or whose index, changed after signing
// is refused before anything is written: the patch fails saying why and
// nothing is pushed.
func TestAPKTamperedRepository(t *testing.T) {
	a := newAPKBed(t)
	dt, err := testreport.TrivyRPM(a.alpine, distros.Release{ID: "alpine", VersionID: "3.20.3"}, a.testFixes())
	if err != nil {
		t.Fatal(err)
	}
	report := writeFile(t, "trivy.json", dt)
	for name, c := range map[string]struct{ url, want string }{
		"package": {a.tamperedPkgURL, "does not verify"},
		"index":   {a.tamperedIndexURL, "signature"},
	} {
		t.Run(name, func(t *testing.T) {
			tag := a.tag("tampered-" + name)
			out := runPlugin(t, a.bed, 1, "patch", "image", a.alpine, "--report", report, "--tag", tag, "--push",
				"--progress", "plain", "--tooling-image", a.frontend, "--repo-mirror", a.repoURL+"="+c.url, "--no-cache")
			if !strings.Contains(out, c.want) {
				t.Errorf("a tampered %s must be refused, saying %q:\n%s", name, c.want, out)
			}
			assertNotPushed(t, tag)
		})
	}
}

// Update-all mode: darn-apk lists the newest version of every installed
// package, and the patch installs exactly those, with the dependency the
// newest darn-libfoo needs.
func TestAPKUpdateAll(t *testing.T) {
	a := newAPKBed(t)
	tag := a.tag("update-all")
	runPlugin(t, a.bed, 0, "patch", "image", a.alpine, "--update-all", "--tooling-image", a.frontend,
		"--tag", tag, "--push", "--progress", "plain")
	got := versionsOf(apkDB(t, fetchImage(t, tag), "lib/apk/db/installed"))
	want := map[string]string{"darn-libfoo": "1.1-r0", "darn-tool": "2.4-r0", "darn-other": "1.1-r0", "darn-libbar": "2.0-r0"}
	for name, v := range a.installed {
		if _, ok := want[name]; !ok {
			want[name] = v
		}
	}
	assertVersions(t, "apk database after --update-all", got, want)
}
