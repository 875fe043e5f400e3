package plugin

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/plan"
)

func TestPrintSummary(t *testing.T) {
	sums := []patch.Summary{{
		Platform: "linux/amd64", OS: "debian 12", Image: "debian:12", Digest: "sha256:abc",
		Plan: plan.Plan{Items: []plan.Item{
			{Name: "libc6", Action: plan.ActionUpgrade},
			{Name: "tar", Action: plan.ActionNoFix},
			{Name: "zlib1g", Action: plan.ActionAlreadyFixed},
			{Name: "tzdata", Action: plan.ActionLeftOut, Reason: "p.yaml:3:13: packages.exclude tzdata"},
		}},
		EOL:     &distros.EOL{Status: distros.EOLSoon, Date: "2026-12-31"},
		Stacked: "debian:12: the original image it was patched from is unavailable (gone)",
		Changes: []plan.Change{
			{Name: "libc-bin", From: "1", To: "2"},
			{Name: "libc6", From: "1", To: "2", Planned: true, Fixes: []string{"CVE-1", "CVE-2"}},
		},
	}}
	dt, _ := json.Marshal(sums)
	var b bytes.Buffer
	if err := printSummary(&b, dt, imageOptions{image: "debian:12", tag: "debian:12-patched", push: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"linux/amd64 (debian 12) debian:12@sha256:abc",
		"already fixed: zlib1g", "no fix available yet: tar",
		"left out by the policy: tzdata (p.yaml:3:13: packages.exclude tzdata)", "end of life: ending-soon 2026-12-31",
		"libc-bin  1     2   (dependency)", "libc6     1     2   CVE-1 CVE-2",
		"patched image: debian:12-patched (pushed)",
		"patched before by darn, stacked: debian:12: the original image it was patched from is unavailable (gone)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}

	b.Reset()
	sums[0].Changes = nil
	dt, _ = json.Marshal(sums)
	if err := printSummary(&b, dt, imageOptions{image: "debian:12"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "nothing to patch") {
		t.Errorf("no change must say nothing to patch:\n%s", b.String())
	}
}
