package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/integration/testreport"
)

// reproCase is one image patched on two builders.
type reproCase struct {
	image string
	// args are the patch's own arguments (report, mirrors, policy).
	args []string
	// index says the image is an index: its digest is compared.
	index bool
	// patched is the image the last patchOn pushed.
	patched registryImage
}

// Two builders of their own (own roots, nothing cached or shared) patch
// the same image with the same report and mirror state: the new layer is
// the same, byte for byte, and with SOURCE_DATE_EPOCH the whole image is.
// Without it, the config says when the patch happened.
func TestReproducibleAcrossBuilders(t *testing.T) {
	o := newOfflineBed(t)
	d := newDistrolessBed(t)
	m := newMultiBed(t)
	a := newAPKBed(t)
	apkReport, err := testreport.TrivyRPM(a.alpine, distros.Release{ID: "alpine", VersionID: "3.20.3"}, a.testFixes())
	if err != nil {
		t.Fatal(err)
	}
	bks := []*ownBuildkitd{newOwnBuildkitd(t), newOwnBuildkitd(t)}
	cases := map[string]reproCase{
		"apt": {image: o.offline, args: append([]string{"--report", filepath.Join(writeReport(t, o.offline, o.rel, o.cands), "report.json")}, mirrorFlags(o.mirror)...)},
		"distroless": {image: d.image, args: []string{
			"--report", filepath.Join(writeReport(t, d.image, d.rel, d.cands()), "report.json"),
			"--source-policy", policyFile(t, convertRule(defaultTooling, d.tooling)),
			"--repo-mirror", os.Getenv("DARN_DEBIAN_MIRROR") + "=" + o.mirror + "/debian",
			"--repo-mirror", os.Getenv("DARN_DEBIAN_SECURITY_MIRROR") + "=" + o.mirror + "/debian-security",
		}},
		"index": {image: m.image, index: true, args: []string{"--report", m.reports(t, "amd64", "arm64")}},
		// darn-apk writes the database and settles the directories it
		// touched to the epoch, so its layer is the same too.
		"apk": {image: a.alpine, args: []string{"--report", writeFile(t, "trivy.json", apkReport), "--tooling-image", a.frontend}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			start := time.Now().Add(-time.Minute)
			var layers, digests []string
			for i, bk := range bks {
				layer, _ := tc.patchOn(t, bk, fmt.Sprintf("%s-b%d", name, i), "")
				layers = append(layers, layer)
				assertCreatedAfter(t, tc.patched, start)
				// The image's own creation time: the step is the same as
				// above, and only the export changes.
				_, dgst := tc.patchOn(t, bk, fmt.Sprintf("%s-b%d-epoch", name, i), tc.epoch(t))
				digests = append(digests, dgst)
			}
			if layers[0] != layers[1] {
				t.Errorf("the patch layer differs between builders: %s vs %s", layers[0], layers[1])
			}
			if digests[0] != digests[1] {
				t.Errorf("with SOURCE_DATE_EPOCH, the image differs between builders: %s vs %s", digests[0], digests[1])
			}
		})
	}
}

// epoch is the image's creation time, as SOURCE_DATE_EPOCH.
func (tc *reproCase) epoch(t *testing.T) string {
	t.Helper()
	created := fetchImage(t, tc.image).Config.Created
	if created == nil {
		t.Fatalf("%s has no creation time", tc.image)
	}
	return strconv.FormatInt(created.Unix(), 10)
}

// patchOn patches the image on a builder, pushes it under a tag named
// name, and returns its (amd64) patch layer's digest and the pushed
// digest (the index's for an index).
func (tc *reproCase) patchOn(t *testing.T, bk *ownBuildkitd, name, epoch string) (layer, dgst string) {
	t.Helper()
	tag := hostileRef(testBed(t), "repro-"+name)
	args := append([]string{"patch", "image", tc.image, "--tag", tag, "--push", "--progress", "plain", "--addr", bk.addr}, tc.args...)
	if epoch != "" {
		args = append(args, "--source-date-epoch", epoch)
	}
	runPluginEnv(t, []string{"BUILDKIT_HOST=", "SOURCE_DATE_EPOCH="}, 0, args...)
	img := fetchImage(t, tag)
	tc.patched = img
	dgst = img.Digest
	if tc.index {
		_, dgst = fetchIndexDigest(t, tag)
	}
	return img.Manifest.Layers[len(img.Manifest.Layers)-1].Digest.String(), dgst
}

// assertCreatedAfter checks a patch made without SOURCE_DATE_EPOCH says
// when it happened, in the config and its last history entry.
func assertCreatedAfter(t *testing.T, img registryImage, start time.Time) {
	t.Helper()
	h := img.Config.History
	if c := img.Config.Created; c == nil || c.Before(start) || len(h) == 0 || h[len(h)-1].Created == nil || h[len(h)-1].Created.Before(start) {
		t.Errorf("%s: created %v, last history %+v: want the patch's time", img.Ref, img.Config.Created, h[len(h)-1])
	}
}
