package integration

import (
	"path/filepath"
	"strings"
	"testing"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/darn-dev/darn/distros/deb"
)

// A fixed version no source offers fails the patch; --ignore-errors keeps
// the image with the other fixes, names what fell short, and claims no fix
// for it in the VEX document.
func TestIgnoreErrors(t *testing.T) {
	e := newEntryBed(t)
	cands := append(e.cands[:0:0], e.cands...)
	bogus := cands[0]
	cands[0].Candidate = "99:" + bogus.Candidate // an epoch no version has
	report := filepath.Join(writeReport(t, e.TestImage, e.rel, cands), "report.json")
	args := []string{"patch", "image", e.TestImage, "--report", report, "--push", "--progress", "plain"}

	out := runPlugin(t, e.bed, 1, append(args, "--tag", e.tag("strict"))...)
	if !strings.Contains(out, "no version available") || !strings.Contains(out, bogus.Name+">=99:") {
		t.Errorf("want the missing version named:\n%s", out)
	}

	tag, file := e.tag("ignore-errors"), filepath.Join(t.TempDir(), "vex.json")
	out = runPlugin(t, e.bed, 0, append(args, "--tag", tag, "--ignore-errors", "--vex", file)...)
	if !strings.Contains(out, "BELOW FIXED VERSION (kept by --ignore-errors): "+bogus.Name) {
		t.Errorf("want the shortfall named:\n%s", out)
	}
	orig, patched := fetchImage(t, e.TestImage), fetchImage(t, tag)
	assertOneLayerAdded(t, orig, patched)
	var fixed []string
	for _, c := range cands[1:] {
		if c.Source != bogus.Source {
			fixed = append(fixed, c.Name)
		}
	}
	after := installed(t, patched.fileFromLayers(t, "var/lib/dpkg/status"))
	for _, c := range cands[1:] {
		if c.Source != bogus.Source && after[c.Name] != c.Candidate {
			t.Errorf("%s: %q, want %s", c.Name, after[c.Name], c.Candidate)
		}
	}
	doc, err := openvex.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range doc.Statements {
		for _, p := range s.Products[0].Subcomponents {
			if strings.Contains(p.ID, "/"+bogus.Name+"@") {
				t.Errorf("VEX claims %s fixed in %s, which fell short", s.Vulnerability.Name, bogus.Name)
			}
		}
	}
	if len(fixed) > 0 && len(doc.Statements) == 0 {
		t.Error("the other fixes must still be stated")
	}
}

// Without a report, --update-all upgrades every package the image's
// sources have a newer version of: one layer, nothing removed, nothing
// downgraded, every pending security fix in.
func TestUpdateAll(t *testing.T) {
	e := newEntryBed(t)
	tag := e.tag("update-all")
	out := runPlugin(t, e.bed, 0, "patch", "image", e.TestImage, "--update-all", "--tag", tag, "--push", "--progress", "plain")
	if !strings.Contains(out, "patched image: "+tag) {
		t.Errorf("plugin output:\n%s", out)
	}
	orig, patched := fetchImage(t, e.TestImage), fetchImage(t, tag)
	assertOneLayerAdded(t, orig, patched)
	assertConfigPreserved(t, orig, patched)
	assertLayerClean(t, patched)
	before := installed(t, orig.fileFromLayers(t, "var/lib/dpkg/status"))
	after := installed(t, patched.fileFromLayers(t, "var/lib/dpkg/status"))
	for name, v := range before {
		got, ok := after[name]
		if !ok {
			t.Errorf("%s was removed", name)
			continue
		}
		if c, err := (deb.Versions{}).Compare(got, v); err != nil || c < 0 {
			t.Errorf("%s went from %s to %s", name, v, got)
		}
	}
	for _, c := range e.cands {
		if c2, err := (deb.Versions{}).Compare(after[c.Name], c.Candidate); err != nil || c2 < 0 {
			t.Errorf("%s: %q, want >= %s", c.Name, after[c.Name], c.Candidate)
		}
	}
}
