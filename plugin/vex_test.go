package plugin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/plan"
)

func TestWriteVEX(t *testing.T) {
	file := filepath.Join(t.TempDir(), "vex.json")
	o := imageOptions{tag: "127.0.0.1:5000/team/app:1.4-patched", vexFile: file}
	sums, _ := json.Marshal([]patch.Summary{{Platform: "linux/amd64", OS: "debian 12", Changes: []plan.Change{
		{Name: "libc6", To: "2.36-9+deb12u10", Arch: "amd64", PURL: "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12", Planned: true, Fixes: []string{"CVE-2025-4802"}},
		{Name: "libc-bin", To: "2.36-9+deb12u10", Arch: "amd64", PURL: "pkg:deb/debian/libc-bin@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12"},
		{Name: "tzdata", To: "2026f-0+deb12u1", Arch: "all", PURL: "pkg:deb/debian/tzdata@2026f-0%2Bdeb12u1?arch=all&distro=debian-12", Planned: true, Fixes: []string{"DSA-1"}},
	}}})
	resp := map[string]string{exporterDigestKey: "sha256:" + hex}
	var said []string
	if err := writeVEX(o, sums, resp, func(s string) { said = append(said, s) }); err != nil {
		t.Fatal(err)
	}
	doc, err := openvex.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Statements) != 2 || doc.Statements[0].Status != openvex.StatusFixed {
		t.Fatalf("statements = %+v", doc.Statements)
	}
	product := doc.Statements[0].Products[0].ID
	if !strings.Contains(product, "pkg:oci/app@sha256:"+hex) || !strings.Contains(product, "repository_url=127.0.0.1:5000") {
		t.Errorf("product = %s", product)
	}
	if len(said) != 1 || !strings.Contains(said[0], "2 statements") {
		t.Errorf("said %q", said)
	}

	// Nothing fixed: say so, write nothing.
	os.Remove(file)
	sums, _ = json.Marshal([]patch.Summary{{Platform: "linux/amd64", OS: "debian 12"}})
	said = nil
	if err := writeVEX(o, sums, resp, func(s string) { said = append(said, s) }); err != nil || len(said) != 1 {
		t.Fatalf("nothing fixed: %v %q", err, said)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Error("no document may be written when nothing was fixed")
	}
	if err := writeVEX(o, sums, map[string]string{}, func(string) {}); err == nil {
		t.Error("without an image digest, --vex must fail")
	}
}
