package patch

import (
	"strings"
	"testing"

	"github.com/darn-dev/darn/plan"
)

func TestLeftOutButChanged(t *testing.T) {
	p := plan.Plan{Items: []plan.Item{
		{Name: "apt", Installed: "2.6.1", Action: plan.ActionLeftOut, Reason: "p.yaml:3:13: packages.exclude apt"},
		{Name: "libapt-pkg6.0", Installed: "2.6.1", Fixed: "2.6.2", Action: plan.ActionUpgrade},
	}}
	changes := []plan.Change{{Name: "apt", From: "2.6.1", To: "2.6.2"}, {Name: "libapt-pkg6.0", From: "2.6.1", To: "2.6.2", Planned: true}}
	got := LeftOutButChanged(p, changes)
	if len(got) != 1 || !strings.Contains(got[0], "apt was left out by the patch policy (p.yaml:3:13: packages.exclude apt) but changed from 2.6.1 to 2.6.2") {
		t.Errorf("warnings %q", got)
	}
}
