package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/darn-dev/darn/integration/testreport"
	"github.com/darn-dev/darn/patch"
)

// A patched image patched again becomes its original's layers and ONE
// layer of darn's holding every fix so far (not a layer per patch), with
// the image-spec's base-image labels left as the original had them; a
// third patch with nothing new to fix returns it unchanged.
func TestRepatchPatchedImage(t *testing.T) {
	b := testBed(t)
	c := b.client(t)
	cands, rel, err := testreport.Upgradable(t.Context(), c, b.TestImage)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) < 2 {
		t.Skipf("need 2 pending security updates to patch in two rounds, have %d", len(cands))
	}
	stamp := time.Now().UnixNano()
	original := fmt.Sprintf("%s/darn-test/repatch:original-%d", b.Registry, stamp)
	first := fmt.Sprintf("%s/darn-test/repatch:first-%d", b.Registry, stamp)
	second := fmt.Sprintf("%s/darn-test/repatch:second-%d", b.Registry, stamp)
	// An application image on a named base: its base labels are its own.
	pushDerived(t, b, b.TestImage, original, llb.Image(b.TestImage).File(llb.Mkfile("/etc/darn-test-nonce", 0o644, []byte(original))),
		func(cfg *dockerspec.DockerOCIImage) {
			cfg.Config.Labels["org.opencontainers.image.base.name"] = "docker.io/library/debian:bookworm"
			cfg.Config.Labels["org.opencontainers.image.base.digest"] = "sha256:" + strings.Repeat("ab", 32)
		})
	orig := fetchImage(t, original)

	half := halfBySource(cands)
	runPlugin(t, b, 0, "patch", "image", original, "--report", filepath.Join(writeReport(t, original, rel, half), "report.json"),
		"--tag", first, "--push", "--progress", "plain")
	p1 := fetchImage(t, first)
	assertOneLayerAdded(t, orig, p1)
	assertConfigPreserved(t, orig, p1)
	assertLineage(t, orig, p1, half)

	full := filepath.Join(writeReport(t, first, rel, cands), "report.json")
	out := runPlugin(t, b, 0, "patch", "image", first, "--report", full, "--tag", second, "--push", "--progress", "plain")
	if !strings.Contains(out, "patched again from the original") {
		t.Errorf("the plugin does not say the patch started from the original:\n%s", out)
	}
	p2 := fetchImage(t, second)
	assertOneLayerAdded(t, orig, p2)
	assertConfigPreserved(t, orig, p2)
	assertLineage(t, orig, p2, cands)
	assertLayerClean(t, p2)
	assertPackages(t, orig, p2, cands)
	assertRuns(t, c, second, cands)

	out = runPlugin(t, b, 0, "patch", "image", second, "--report", full, "--push", "--progress", "quiet")
	if !strings.Contains(out, "nothing to patch") {
		t.Errorf("patching a fully patched image should say so:\n%s", out)
	}
	if p3 := fetchImage(t, second+"-patched"); p3.Digest != p2.Digest {
		t.Errorf("nothing to patch, yet the image changed: %s -> %s", p2.Digest, p3.Digest)
	}
}

// When the original a lineage names cannot be had, the new layer goes on
// top of darn's earlier one, as on any image, and the patch says why.
func TestRepatchOriginalUnavailable(t *testing.T) {
	b := testBed(t)
	c := b.client(t)
	cands, rel, err := testreport.Upgradable(t.Context(), c, b.TestImage)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) < 2 {
		t.Skipf("need 2 pending security updates to patch in two rounds, have %d", len(cands))
	}
	stamp := time.Now().UnixNano()
	first := fmt.Sprintf("%s/darn-test/repatch:lost-first-%d", b.Registry, stamp)
	orphan := fmt.Sprintf("%s/darn-test/repatch:lost-orphan-%d", b.Registry, stamp)
	runPlugin(t, b, 0, "patch", "image", b.TestImage, "--report", filepath.Join(writeReport(t, b.TestImage, rel, halfBySource(cands)), "report.json"),
		"--tag", first, "--push", "--progress", "plain")
	// The same image, its lineage naming an original nobody can pull.
	pushDerived(t, b, first, orphan, llb.Image(first), func(cfg *dockerspec.DockerOCIImage) {
		cfg.Config.Labels[patch.KeyOriginalName] = b.Registry + "/darn-test/deleted:gone"
	})
	p1 := fetchImage(t, orphan)
	second := orphan + "-patched"
	out := runPlugin(t, b, 0, "patch", "image", orphan, "--report", filepath.Join(writeReport(t, orphan, rel, cands), "report.json"),
		"--tag", second, "--push", "--progress", "plain")
	if !strings.Contains(out, "the original image it was patched from is unavailable") {
		t.Errorf("the patch does not say why it stacks:\n%s", out)
	}
	p2 := fetchImage(t, second)
	assertOneLayerAdded(t, p1, p2)
	assertPackages(t, fetchImage(t, b.TestImage), p2, cands)
}

// halfBySource returns the candidates of the first half of the source
// packages: binaries of one source move together (apt upgrades a sibling
// a fixed binary depends on), so a report splits cleanly only by source.
func halfBySource(cands []testreport.Candidate) []testreport.Candidate {
	var sources []string
	seen := map[string]bool{}
	for _, c := range cands {
		if !seen[c.Source] {
			seen[c.Source] = true
			sources = append(sources, c.Source)
		}
	}
	keep := map[string]bool{}
	for _, s := range sources[:(len(sources)+1)/2] {
		keep[s] = true
	}
	var out []testreport.Candidate
	for _, c := range cands {
		if keep[c.Source] {
			out = append(out, c)
		}
	}
	return out
}
