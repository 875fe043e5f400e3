package frontend

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/darn-dev/darn/patch"
	"github.com/darn-dev/darn/plan"
)

func policyOpts(file string, extra ...string) map[string]string {
	o := maps.Clone(defaultOpts)
	o["policy"], o["context:policy"] = file, "local:policy"
	for i := 0; i+1 < len(extra); i += 2 {
		o[extra[i]] = extra[i+1]
	}
	return o
}

// A policy from the named context "policy": the excluded package is
// planned as left out, naming its rule, and not upgraded; the plan keeps
// the rest.
func TestBuildWithPolicy(t *testing.T) {
	f := newFake(policyOpts("p.yaml"))
	f.policy = map[string]string{"p.yaml": "version: 1\npackages:\n  exclude: [openssl, libc*]\n"}
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	s := summaries(t, res)[0]
	var left []string
	for _, it := range s.Plan.Items {
		if it.Action == plan.ActionLeftOut {
			left = append(left, it.Name+" "+it.Reason)
		}
	}
	if want := "libc6 p.yaml:3:22: packages.exclude libc*"; len(left) != 2 || left[0] != want {
		t.Errorf("left out: %q, want libc6 and openssl, libc6 as %q", left, want)
	}
	if len(s.Plan.Upgrades()) != 0 || len(s.Changes) != 0 {
		t.Errorf("nothing must be upgraded: %+v", s.Plan)
	}
	if s.EOL == nil || s.EOL.Status != "supported" {
		t.Errorf("debian 12's end of life: %+v", s.EOL)
	}
}

// fail-on-unfixable: tar's vulnerability has no fix, so the patch fails,
// naming it; a policy error names file, line and column.
func TestBuildPolicyErrors(t *testing.T) {
	f := newFake(policyOpts("p.yaml"))
	f.policy = map[string]string{"p.yaml": "version: 1\nfail-on-unfixable: true\n"}
	_, err := Build(t.Context(), f)
	var ue *patch.UnfixableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "tar CVE-2025-3") {
		t.Errorf("fail-on-unfixable: %v", err)
	}
	f = newFake(policyOpts("p.yaml"))
	f.policy = map[string]string{"p.yaml": "version: 1\nseverity: severe\n"}
	if _, err := Build(t.Context(), f); err == nil || !strings.Contains(err.Error(), `p.yaml:2:11: severity "severe"`) {
		t.Errorf("a bad policy: %v", err)
	}
	f = newFake(policyOpts("p.yaml"))
	if _, err := Build(t.Context(), f); err == nil || !strings.Contains(err.Error(), "reading policy p.yaml") {
		t.Errorf("a missing policy file: %v", err)
	}
}

// An end-of-life release: a warning, and an error with fail-on-eol.
func TestBuildEndOfLife(t *testing.T) {
	buster := "ID=debian\nVERSION_ID=\"10\"\nVERSION_CODENAME=buster\n"
	f := newFake(defaultOpts)
	f.files["/etc/os-release"] = buster
	f.report = strings.ReplaceAll(testReport, "12.5", "10.13")
	if _, err := Build(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(f.warnings, "\n"); !strings.Contains(w, "debian 10 is end of life (its security support ended on 2024-06-30)") {
		t.Errorf("no end-of-life warning: %q", f.warnings)
	}
	o := maps.Clone(defaultOpts)
	o["fail-on-eol"] = "true"
	f = newFake(o)
	f.files["/etc/os-release"] = buster
	var ee *patch.EOLError
	if _, err := Build(t.Context(), f); !errors.As(err, &ee) {
		t.Errorf("fail-on-eol: %v", err)
	}
}
