package frontend

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/subrequests/lint"
	"github.com/moby/buildkit/frontend/subrequests/outline"

	"github.com/darn-dev/darn/patch"
)

func withRequest(id string) map[string]string {
	return map[string]string{"image": "debian:12", "context:report": "local:report", "requestid": id}
}

func TestSubrequestDescribe(t *testing.T) {
	res, err := Build(t.Context(), newFake(withRequest("frontend.subrequests.describe")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"frontend.outline", "frontend.lint", "frontend.plan"} {
		if !strings.Contains(string(res.Metadata["result.json"]), want) {
			t.Errorf("describe lacks %s:\n%s", want, res.Metadata["result.json"])
		}
	}
}

func TestSubrequestOutline(t *testing.T) {
	f := newFake(withRequest("frontend.outline"))
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	var o outline.Outline
	if err := json.Unmarshal(res.Metadata["result.json"], &o); err != nil {
		t.Fatal(err)
	}
	if o.Name != "darn" || len(o.Args) == 0 || o.Args[0].Name != "image" || o.Args[0].Value != "docker.io/library/debian:12" {
		t.Errorf("outline = %+v", o)
	}
	if len(f.solved) != 0 {
		t.Errorf("outline solved %d definitions, want none", len(f.solved))
	}
}

func TestSubrequestLint(t *testing.T) {
	f := newFake(withRequest("frontend.lint"))
	f.report = `{"SchemaVersion":2,"Results":[]}`
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	var lr lint.LintResults
	if err := json.Unmarshal(res.Metadata["result.json"], &lr); err != nil {
		t.Fatal(err)
	}
	if len(lr.Warnings) != 1 || lr.Warnings[0].RuleName != "NothingFixable" {
		t.Errorf("lint = %+v", lr)
	}
	f = newFake(withRequest("frontend.lint"))
	f.report = `{"nope": 1}`
	if _, err := Build(t.Context(), f); err == nil || !strings.Contains(err.Error(), "reading report") {
		t.Errorf("lint of a bad report: %v", err)
	}
}

func TestSubrequestPlan(t *testing.T) {
	f := newFake(withRequest("frontend.plan"))
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	var sums []patch.Summary
	if err := json.Unmarshal(res.Metadata["result.json"], &sums); err != nil || len(sums) != 1 {
		t.Fatalf("plan: %v %s", err, res.Metadata["result.json"])
	}
	if ups := sums[0].Plan.Upgrades(); len(ups) != 1 || ups[0].Name != "libc6" || ups[0].Fixed != "2.36-9+deb12u10" {
		t.Errorf("plan upgrades = %+v", ups)
	}
	txt := string(res.Metadata["result.txt"])
	if !strings.Contains(txt, "libc6") || !strings.Contains(txt, "upgrade") || !strings.Contains(txt, "no-fix") {
		t.Errorf("plan text:\n%s", txt)
	}
	for _, pbDef := range f.solved {
		if kind := solvedKind(pbDef); kind == "exec" {
			t.Error("--call plan must not run the upgrade")
		}
	}
}

func TestSubrequestUnknown(t *testing.T) {
	if _, err := Build(t.Context(), newFake(withRequest("frontend.bogus"))); err == nil {
		t.Error("an unknown subrequest must fail")
	}
}
