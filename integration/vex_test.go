package integration

import (
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	openvex "github.com/openvex/go-vex/pkg/vex"
)

// --vex writes an OpenVEX document naming the pushed image by digest, with
// a fixed statement for every vulnerability darn verified, validated with
// go-vex; the pushed image carries the same statements as an in-toto
// attestation.
func TestVEX(t *testing.T) {
	e := newEntryBed(t)
	tag := e.tag("vex")
	file := filepath.Join(t.TempDir(), "vex.json")
	runPlugin(t, e.bed, 0, "patch", "image", e.TestImage, "--report", filepath.Join(e.reportDir, "report.json"),
		"--tag", tag, "--push", "--vex", file, "--progress", "quiet")
	doc, err := openvex.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	patched := fetchImage(t, tag)
	if patched.IndexDigest == "" {
		t.Fatalf("%s was pushed without its attestation", tag)
	}
	idx, _ := fetchIndexDigest(t, tag)
	assertVEXAttestation(t, repoOf(t, tag), idx, digest.Digest(patched.Digest))
	ids := map[string]bool{}
	for _, c := range e.cands {
		ids["DARN-TEST-"+c.Source+"-"+c.Candidate] = true
	}
	if len(doc.Statements) != len(ids) {
		t.Errorf("%d statements, want one per fixed vulnerability (%d)", len(doc.Statements), len(ids))
	}
	for _, s := range doc.Statements {
		if err := s.Validate(); err != nil {
			t.Errorf("invalid statement: %v", err)
		}
		if s.Status != openvex.StatusFixed || !ids[string(s.Vulnerability.Name)] {
			t.Errorf("unexpected statement %s %s", s.Vulnerability.Name, s.Status)
		}
		if len(s.Products) != 1 || !strings.Contains(s.Products[0].ID, "@"+patched.IndexDigest) || len(s.Products[0].Subcomponents) == 0 {
			t.Errorf("statement %s does not name the pushed image %s with its packages: %+v", s.Vulnerability.Name, patched.IndexDigest, s.Products)
		}
	}
}
