package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/darn-dev/darn/integration/testreport"
)

// A patched image is an image like any other: patching it again must work
// through the same daemon that made it (read back from the registry), add
// one more layer, and say "nothing to patch" once everything is fixed.
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
	orig := fetchImage(t, b.TestImage)
	stamp := time.Now().UnixNano()
	first := fmt.Sprintf("%s/darn-test/repatch:first-%d", b.Registry, stamp)
	second := fmt.Sprintf("%s/darn-test/repatch:second-%d", b.Registry, stamp)

	half := writeReport(t, b.TestImage, rel, halfBySource(cands))
	patchWithPlugin(t, b, half, first)
	full := writeReport(t, first, rel, cands)
	runPlugin(t, b, 0, "patch", "image", first, "--report", filepath.Join(full, "report.json"), "--tag", second, "--push", "--progress", "plain")

	p1, p2 := fetchImage(t, first), fetchImage(t, second)
	assertOneLayerAdded(t, p1, p2)
	assertConfigPreserved(t, p1, p2)
	assertLayerClean(t, p2)
	assertPackages(t, orig, p2, cands)
	assertRuns(t, c, second, cands)

	out := runPlugin(t, b, 0, "patch", "image", second, "--report", filepath.Join(full, "report.json"), "--push", "--progress", "quiet")
	if !strings.Contains(out, "nothing to patch") {
		t.Errorf("patching a fully patched image should say so:\n%s", out)
	}
	if p3 := fetchImage(t, second+"-patched"); p3.Digest != p2.Digest {
		t.Errorf("nothing to patch, yet the image changed: %s -> %s", p2.Digest, p3.Digest)
	}
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
