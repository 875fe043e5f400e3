package integration

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/darn-dev/darn/distros/deb"
	"github.com/darn-dev/darn/integration/testreport"
)

// defaultTooling is the tooling image darn picks for Debian 12. Nothing
// resolves it here (no public registry is reachable), so the tests reach
// the bed's own slim image only through a source policy.
const defaultTooling = "docker.io/library/debian:12-slim"

// distrolessBed is the entry bed plus the distroless-shaped image.
type distrolessBed struct {
	entryBed
	image    string
	tooling  string
	packages map[string]bool
}

func newDistrolessBed(t *testing.T) distrolessBed {
	t.Helper()
	e := newEntryBed(t)
	d := distrolessBed{entryBed: e, image: os.Getenv("DARN_DISTROLESS_IMAGE"), tooling: os.Getenv("DARN_TOOLING_IMAGE"), packages: map[string]bool{}}
	if d.image == "" || d.tooling == "" || os.Getenv("DARN_DISTROLESS_PACKAGES") == "" {
		t.Fatal("the test bed lacks DARN_DISTROLESS_IMAGE, DARN_TOOLING_IMAGE or DARN_DISTROLESS_PACKAGES")
	}
	for _, p := range strings.Split(os.Getenv("DARN_DISTROLESS_PACKAGES"), ",") {
		d.packages[p] = true
	}
	return d
}

// cands are the test image's security updates for the packages the
// distroless image holds: both come from the same debootstrap root.
func (d distrolessBed) cands() []testreport.Candidate {
	var out []testreport.Candidate
	for _, c := range d.entryBed.cands {
		if d.packages[c.Name] {
			out = append(out, c)
		}
	}
	return out
}

// policyFile writes a BuildKit source policy.
func policyFile(t *testing.T, rules string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(f, []byte(`{"rules":[`+rules+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func convertRule(from, to string) string {
	return fmt.Sprintf(`{"action":"CONVERT","selector":{"identifier":"docker-image://%s"},"updates":{"identifier":"docker-image://%s"}}`, from, to)
}

// The distroless image is patched from the tooling image, reachable only
// through a source policy's CONVERT of the default name.
func TestDistroless(t *testing.T) {
	d := newDistrolessBed(t)
	cands := d.cands()
	if len(cands) == 0 {
		t.Fatal("no pending security update for the distroless image's packages")
	}
	reportDir := writeReport(t, d.image, d.rel, cands)
	policy := policyFile(t, convertRule(defaultTooling, d.tooling))
	tag := d.tag("distroless")
	out := runPlugin(t, d.bed, 0, "patch", "image", d.image, "--report", filepath.Join(reportDir, "report.json"),
		"--source-policy", policy, "--tag", tag, "--push", "--progress", "plain")
	if !strings.Contains(out, "no package manager: patched from the tooling image") {
		t.Errorf("the tooling path must be announced:\n%s", out)
	}
	orig, patched := fetchImage(t, d.image), fetchImage(t, tag)
	assertOneLayerAdded(t, orig, patched)
	assertDistrolessLayer(t, patched, cands)
	assertStatusD(t, orig, patched, cands)
}

// assertDistrolessLayer checks the new layer holds only the target's
// changed files, and that every file the new packages list has their new
// bytes (a layer diffed against the tooling image would keep old ones).
func assertDistrolessLayer(t *testing.T, patched registryImage, cands []testreport.Candidate) {
	t.Helper()
	last := len(patched.Manifest.Layers) - 1
	entries := patched.layerEntries(t, last, func(string) bool { return true })
	inLayer := map[string][]byte{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name, "/")
		inLayer[name] = e.Data
		switch {
		case strings.Contains(name, ".wh."):
			t.Errorf("whiteout in the patch layer: %s", name)
		case name == "etc/localtime", name == "etc/timezone":
			// tzdata's postinst would write these; no maintainer script runs.
			t.Errorf("a maintainer script ran in the target: %s is in the patch layer", name)
		case strings.HasPrefix(name, "usr/share/man/"), strings.HasPrefix(name, "var/lib/apt"), strings.HasPrefix(name, "var/cache/apt"),
			strings.HasPrefix(name, "tmp/"), strings.HasPrefix(name, "run/darn"), name == "usr/bin/apt-get", name == "usr/bin/dpkg", name == "usr/bin/bash":
			t.Errorf("the patch layer holds %s, which is no file of the target's packages", name)
		}
	}
	for _, c := range cands {
		sums, ok := inLayer["var/lib/dpkg/status.d/"+c.Name+".md5sums"]
		if !ok {
			t.Errorf("%s: its md5sums sidecar is not in the patch layer", c.Name)
			continue
		}
		changed := 0
		for packaged, want := range parseMD5Sums(sums) {
			path := mergedUsr(packaged, inLayer)
			data, ok := inLayer[path]
			if !ok {
				data, ok = fileBelow(t, patched, last, path)
			}
			if !ok {
				continue // documentation the distroless image leaves out
			}
			if got := md5.Sum(data); hex.EncodeToString(got[:]) != want {
				t.Errorf("%s: %s has old or wrong bytes after the patch", c.Name, path)
			}
			if _, fresh := inLayer[path]; fresh {
				changed++
			}
		}
		if changed == 0 {
			t.Errorf("%s: no file of the new version is in the patch layer", c.Name)
		}
	}
}

// mergedUsr maps a packaged path such as lib/x86_64-linux-gnu/liblzma.so.5
// to where a merged-/usr image keeps it, when the layer has it there.
func mergedUsr(path string, inLayer map[string][]byte) string {
	if _, ok := inLayer[path]; ok {
		return path
	}
	for _, dir := range []string{"bin/", "sbin/", "lib/", "lib32/", "lib64/", "libx32/"} {
		if strings.HasPrefix(path, dir) {
			return "usr/" + path
		}
	}
	return path
}

// fileBelow reads path from the layers under layer last.
func fileBelow(t *testing.T, img registryImage, last int, path string) ([]byte, bool) {
	t.Helper()
	for i := last - 1; i >= 0; i-- {
		for _, e := range img.layerEntries(t, i, func(n string) bool { return n == path }) {
			if e.Name == path {
				return e.Data, true
			}
		}
	}
	return nil, false
}

func parseMD5Sums(dt []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(dt))
	for sc.Scan() {
		if sum, path, ok := strings.Cut(sc.Text(), "  "); ok {
			out[path] = sum
		}
	}
	return out
}

// assertStatusD reads status.d back from both images: every reported
// package reached its fixed version, nothing else changed.
func assertStatusD(t *testing.T, orig, patched registryImage, cands []testreport.Candidate) {
	t.Helper()
	before, after := statusD(t, orig), statusD(t, patched)
	want := map[string]string{}
	for _, c := range cands {
		want[c.Name] = c.Candidate
	}
	for name, v := range before {
		if fixed, ok := want[name]; ok {
			if c, err := (deb.Versions{}).Compare(after[name], fixed); err != nil || c < 0 {
				t.Errorf("%s: status.d says %q, want >= %s", name, after[name], fixed)
			}
		} else if after[name] != v {
			t.Errorf("%s changed though not reported: %s -> %s", name, v, after[name])
		}
	}
}

// statusD reads the effective status.d entries of an image.
func statusD(t *testing.T, img registryImage) map[string]string {
	t.Helper()
	files := map[string][]byte{}
	for i := range img.Manifest.Layers {
		for _, e := range img.layerEntries(t, i, func(n string) bool { return strings.HasPrefix(n, "var/lib/dpkg/status.d/") }) {
			if name, ok := strings.CutPrefix(e.Name, "var/lib/dpkg/status.d/"); ok && name != "" && e.Data != nil {
				files[name] = e.Data
			}
		}
	}
	pkgs, err := deb.ParseStatusDir(files)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range pkgs {
		out[p.Name] = p.Version
	}
	return out
}

// A DENY rule on the tooling image stops the patch with an error naming
// the rule; a CONVERT that pins another digest than the tag's is honoured.
func TestToolingSourcePolicy(t *testing.T) {
	d := newDistrolessBed(t)
	reportDir := writeReport(t, d.image, d.rel, d.cands())
	report := filepath.Join(reportDir, "report.json")
	args := []string{"patch", "image", d.image, "--report", report, "--tag", d.tag("policy"), "--push", "--progress", "plain"}

	deny := policyFile(t, `{"action":"DENY","selector":{"identifier":"docker-image://`+defaultTooling+`"}}`)
	out := runPlugin(t, d.bed, 1, append(args, "--source-policy", deny)...)
	if !strings.Contains(out, "DENY") || !strings.Contains(out, defaultTooling) {
		t.Errorf("the error must name the DENY rule:\n%s", out)
	}

	// Pin the tooling name to the full test image's digest: a different
	// image than the slim tag points to, and one that has apt too.
	other := os.Getenv("DARN_TEST_IMAGE_DIGEST")
	repo, _ := d.repoAndTag(t)
	pin := policyFile(t, convertRule(defaultTooling, repo+"@"+other))
	out = runPlugin(t, d.bed, 0, append(args, "--source-policy", pin)...)
	if !strings.Contains(out, other) {
		t.Errorf("the pinned tooling digest %s was not used:\n%s", other, out)
	}

	// `policy pin` writes what the tooling CONVERT maps to, pinned; a
	// patch under that policy uses exactly those digests.
	convert := policyFile(t, convertRule(defaultTooling, d.tooling))
	pinned := filepath.Join(t.TempDir(), "pinned.json")
	runPlugin(t, d.bed, 0, "patch", "policy", "pin", d.image, "--source-policy", convert, "--output", pinned)
	dt, err := os.ReadFile(pinned)
	if err != nil {
		t.Fatal(err)
	}
	toolingDigest := os.Getenv("DARN_TOOLING_IMAGE_DIGEST")
	if !strings.Contains(string(dt), d.tooling+"@"+toolingDigest) || !strings.Contains(string(dt), d.image+"@") {
		t.Errorf("the pinned policy must pin the image and the tooling image %s@%s:\n%s", d.tooling, toolingDigest, dt)
	}
	out = runPlugin(t, d.bed, 0, append(args, "--source-policy", pinned)...)
	if !strings.Contains(out, toolingDigest) {
		t.Errorf("the patch under the pinned policy did not use %s:\n%s", toolingDigest, out)
	}
}

// An image whose apt sources point nowhere is patched through mirrors on
// loopback; its sources stay byte-identical. A tampered mirror fails with
// apt's verification error.
func TestRepoMirror(t *testing.T) {
	e := newEntryBed(t)
	offline, mirror, tampered := os.Getenv("DARN_OFFLINE_IMAGE"), os.Getenv("DARN_MIRROR_URL"), os.Getenv("DARN_TAMPERED_MIRROR_URL")
	if offline == "" || mirror == "" || tampered == "" {
		t.Fatal("the test bed lacks DARN_OFFLINE_IMAGE, DARN_MIRROR_URL or DARN_TAMPERED_MIRROR_URL")
	}
	report := filepath.Join(writeReport(t, offline, e.rel, e.cands), "report.json")
	mirrors := func(base string) []string {
		return []string{
			"--repo-mirror", "http://deb.darn-unreachable.invalid/debian=" + mirror + "/debian",
			"--repo-mirror", "http://security.darn-unreachable.invalid/debian-security=" + base + "/debian-security",
		}
	}
	tag := e.tag("mirror")
	runPlugin(t, e.bed, 0, append([]string{"patch", "image", offline, "--report", report, "--tag", tag, "--push", "--progress", "plain"}, mirrors(mirror)...)...)
	orig, patched := fetchImage(t, offline), fetchImage(t, tag)
	assertOneLayerAdded(t, orig, patched)
	assertPackages(t, orig, patched, e.cands)
	for _, le := range patched.layerEntries(t, len(patched.Manifest.Layers)-1, func(string) bool { return false }) {
		if strings.HasPrefix(le.Name, "etc/apt/") && !strings.HasSuffix(le.Name, "/") {
			t.Errorf("the patch changed the image's apt configuration: %s", le.Name)
		}
	}

	// The same mirrors from a source policy file: CONVERT rules on URLs.
	rules := fmt.Sprintf(`{"action":"CONVERT","selector":{"identifier":"http://deb.darn-unreachable.invalid/debian","match_type":"EXACT"},"updates":{"identifier":"%s/debian"}},`+
		`{"action":"CONVERT","selector":{"identifier":"http://security.darn-unreachable.invalid/debian-security/*","match_type":"WILDCARD"},"updates":{"identifier":"%s/debian-security/${1}"}}`, mirror, mirror)
	viaPolicy := e.tag("mirror-policy")
	runPlugin(t, e.bed, 0, "patch", "image", offline, "--report", report, "--tag", viaPolicy, "--push", "--progress", "plain", "--source-policy", policyFile(t, rules))
	assertPackages(t, orig, fetchImage(t, viaPolicy), e.cands)

	out := runPlugin(t, e.bed, 1, append([]string{"patch", "image", offline, "--report", report, "--tag", e.tag("tampered"), "--push", "--progress", "plain", "--no-cache"}, mirrors(tampered)...)...)
	if !strings.Contains(out, "Hash Sum mismatch") && !strings.Contains(out, "File has unexpected size") {
		t.Errorf("a tampered mirror must fail apt's verification:\n%s", out)
	}
}

// A patched distroless image is patched again by a daemon that never saw
// it (the bed's Docker Engine and its own BuildKit), from the registry: the
// patch starts again from the original, and its one layer holds every fix.
func TestDistrolessRepatchFreshDaemon(t *testing.T) {
	d := newDistrolessBed(t)
	host := dockerHost(t)
	cands := d.cands()
	half := halfBySource(cands)
	if len(half) == len(cands) {
		t.Skip("need pending fixes from two source packages")
	}
	first, second := d.tag("distroless-first"), d.tag("distroless-second")
	report := func(c []testreport.Candidate) string {
		return filepath.Join(writeReport(t, d.image, d.rel, c), "report.json")
	}
	runPlugin(t, d.bed, 0, "patch", "image", d.image, "--report", report(half), "--tooling-image", d.tooling, "--tag", first, "--push", "--progress", "plain")
	env := []string{"BUILDKIT_HOST=", "BUILDX_BUILDER=", "DOCKER_HOST=" + host}
	out := runPluginEnv(t, env, 0, "patch", "image", first, "--report", report(cands), "--tooling-image", d.tooling,
		"--network", "host", "--tag", second, "--push", "--progress", "plain")
	if !strings.Contains(out, "docker driver") || !strings.Contains(out, "patched again from the original") {
		t.Errorf("the second patch must run on the Docker daemon's BuildKit, from the original:\n%s", out)
	}
	orig, p2 := fetchImage(t, d.image), fetchImage(t, second)
	assertOneLayerAdded(t, orig, p2)
	assertStatusD(t, orig, p2, cands)
	assertDistrolessLayer(t, p2, cands)
	assertLineage(t, orig, p2, cands)
}
