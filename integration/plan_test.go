package integration

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/package-url/packageurl-go"

	"github.com/darn-dev/darn/integration/testreport"
	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/plan"
)

// planDoc is "docker patch plan --format json" (docs/plan.md).
type planDoc struct {
	SchemaVersion int             `json:"schemaVersion"`
	Image         string          `json:"image"`
	Status        string          `json:"status"`
	Platforms     []patch.Summary `json:"platforms"`
}

// runPlan runs "docker patch plan … --format json", checks its exit code
// and reads the plan from stdout alone.
func runPlan(t *testing.T, b bed, wantExit int, args ...string) planDoc {
	t.Helper()
	cmd := dockerCmd(t, dockerConfigWithPlugin(t), []string{"BUILDKIT_HOST=" + b.BuildkitHost}, append([]string{"patch", "plan", "--format", "json"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if got := cmd.ProcessState.ExitCode(); got != wantExit {
		t.Fatalf("docker patch plan %s: exit %d (want %d): %v\n%s%s", strings.Join(args, " "), got, wantExit, err, out, stderr.String())
	}
	var doc planDoc
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("the plan is no JSON: %v\n%s", err, out)
	}
	return doc
}

// A plan, then the patch under the same policy: the plan's upgrades are
// exactly the packages the patch changes, but for apt: the policy leaves
// out tzdata and apt, and the new libapt-pkg6.0 needs the new apt, so apt
// changes as a dependency, which the patch says, claiming no fix for it.
// What the policy leaves out is planned as left out with its rule and gets
// no fixed claim; tzdata keeps its version. With every package left out,
// the plan says nothing to do (exit 0); changes pending exit 2.
func TestPlanThenPatchUnderPolicy(t *testing.T) {
	b := testBed(t)
	cands, rel, err := testreport.Upgradable(t.Context(), b.client(t), b.TestImage)
	if err != nil || len(cands) < 3 {
		t.Fatalf("the test image needs pending fixes: %d, %v", len(cands), err)
	}
	report := filepath.Join(writeReport(t, b.TestImage, rel, cands), "report.json")
	const excluded, dependency = "tzdata", "apt"
	for _, n := range []string{excluded, dependency, "libapt-pkg6.0"} {
		if !slices.ContainsFunc(cands, func(c testreport.Candidate) bool { return c.Name == n }) {
			t.Fatalf("the test image needs a pending fix of %s", n)
		}
	}
	policy := writeFile(t, "policy.yaml", []byte(fmt.Sprintf("version: 1\npackages:\n  exclude: [%q, %q]\n", excluded, dependency)))

	doc := runPlan(t, b, 2, b.TestImage, "--report", report, "--policy", policy)
	if doc.SchemaVersion != 1 || doc.Status != "changes-pending" || len(doc.Platforms) != 1 {
		t.Fatalf("plan: %+v", doc)
	}
	var upgrades []string
	for _, it := range doc.Platforms[0].Plan.Items {
		switch {
		case it.Action == plan.ActionUpgrade:
			upgrades = append(upgrades, it.Name)
		case it.Name == excluded && (it.Action != plan.ActionLeftOut || !strings.Contains(it.Reason, "policy.yaml:3:13: packages.exclude "+excluded)):
			t.Errorf("%s is planned as %s (%q), want left out by its rule", excluded, it.Action, it.Reason)
		}
	}
	if len(upgrades) != len(cands)-2 || slices.Contains(upgrades, excluded) || slices.Contains(upgrades, dependency) {
		t.Errorf("plan upgrades %q; want every candidate but %s and %s", upgrades, excluded, dependency)
	}

	tag := fmt.Sprintf("%s/darn-test/policy:%d", b.Registry, time.Now().UnixNano())
	vexFile := filepath.Join(t.TempDir(), "vex.json")
	out := runPlugin(t, b, 0, "patch", "image", b.TestImage, "--report", report, "--policy", policy, "--tag", tag, "--push", "--vex", vexFile, "--progress", "plain")
	if !strings.Contains(out, "apt was left out by the patch policy (policy.yaml:3:23: packages.exclude apt) but changed from") {
		t.Errorf("the patch must say apt changed as a dependency though left out:\n%s", out)
	}
	orig, patched := fetchImage(t, b.TestImage), fetchImage(t, tag)
	before, after := installed(t, orig.fileFromLayers(t, "var/lib/dpkg/status")), installed(t, patched.fileFromLayers(t, "var/lib/dpkg/status"))
	var changed []string
	for name, v := range after {
		if before[name] != v && slices.ContainsFunc(cands, func(c testreport.Candidate) bool { return c.Name == name }) {
			changed = append(changed, name)
		}
	}
	slices.Sort(changed)
	if want := slices.Sorted(slices.Values(append(slices.Clone(upgrades), dependency))); !slices.Equal(changed, want) {
		t.Errorf("the patch changed %q; the plan said %q, and apt as a dependency", changed, upgrades)
	}
	if after[excluded] != before[excluded] {
		t.Errorf("%s was upgraded though the policy left it out", excluded)
	}
	doc2, err := openvex.Open(vexFile)
	if err != nil {
		t.Fatal(err)
	}
	claimed := map[string]bool{}
	for _, st := range doc2.Statements {
		for _, p := range st.Products {
			for _, c := range p.Subcomponents {
				u, err := packageurl.FromString(c.ID)
				if err != nil {
					t.Fatalf("VEX subcomponent %q: %v", c.ID, err)
				}
				claimed[u.Name] = true
			}
		}
	}
	if claimed[excluded] || claimed[dependency] || !claimed[upgrades[0]] {
		t.Errorf("the VEX must claim fixes of the upgrades (%s) and none of what the policy left out: %v", upgrades[0], claimed)
	}

	all := writeFile(t, "all.yaml", []byte("version: 1\npackages:\n  exclude: [\"*\"]\n"))
	if d := runPlan(t, b, 0, b.TestImage, "--report", report, "--policy", all); d.Status != "nothing-to-do" {
		t.Errorf("with everything left out: %+v", d.Status)
	}
	bad := writeFile(t, "bad.yaml", []byte("version: 1\nseverity: severe\n"))
	out = runPlugin(t, b, 1, "patch", "plan", b.TestImage, "--report", report, "--policy", bad)
	if !strings.Contains(out, `bad.yaml:2:11: severity "severe"`) {
		t.Errorf("a bad policy must be named by file, line and column:\n%s", out)
	}
}
