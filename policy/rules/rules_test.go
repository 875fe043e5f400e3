package rules

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/darn-dev/darn/report"
)

// busterReport is a real Trivy report of debian:10.1 from the corpus: 93
// OS vulnerabilities, 19 with a fix (e2fsprogs and friends MEDIUM,
// libidn2-0 HIGH, ncurses LOW, systemd MEDIUM).
func busterReport(t *testing.T) report.Report {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "corpus", "reports", "trivy", "trivy-20211224__debian-buster.json"))
	if err != nil {
		t.Skipf("no corpus: %v", err)
	}
	r, err := report.Parse(dt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func fixable(r report.Report) []string {
	var out []string
	for _, p := range r.Packages {
		for _, v := range p.Vulnerabilities {
			if v.Fixable() {
				out = append(out, p.Name)
				break
			}
		}
	}
	return out
}

func mustParse(t *testing.T, src string) Policy {
	t.Helper()
	p, err := Parse("policy.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// Each rule on the real report: what it keeps, and that every package it
// leaves out names the rule by file, line and column.
func TestApplyOnCorpusReport(t *testing.T) {
	r := busterReport(t)
	for name, tc := range map[string]struct {
		policy    string
		fixable   []string
		leftOut   map[string]string // package → part of its rule
		unfixable int
	}{
		"severity floor high": {
			policy:  "version: 1\nseverity: high\n",
			fixable: []string{"libidn2-0"},
			leftOut: map[string]string{"apt": "policy.yaml:2:11: severity low is below the floor high", "e2fsprogs": "severity medium is below"},
			// gcc-8-base, libgcc1, libstdc++6 ×2, libsystemd0, libudev1 ×3
			unfixable: 12,
		},
		"exclude and include": {
			policy:  "version: 1\npackages:\n  include: [\"lib*\", \"e2fsprogs\"]\n  exclude: [\"libsystemd*\", libudev1]\n",
			fixable: []string{"e2fsprogs", "libcom-err2", "libext2fs2", "libidn2-0", "libncursesw6", "libss2", "libtinfo6"},
			leftOut: map[string]string{"libsystemd0": "policy.yaml:4:13: packages.exclude libsystemd*", "libudev1": "policy.yaml:4:28: packages.exclude libudev1", "ncurses-bin": "policy.yaml:3:13: packages.include (no pattern matches ncurses-bin)"},
		},
		"ignore, one expired": {
			policy:  "version: 1\nignore:\n  - id: CVE-2019-18224\n    reason: not reachable\n  - id: CVE-2019-15718\n    reason: old\n    expires: 2026-01-01\n",
			fixable: []string{"e2fsprogs", "libcom-err2", "libext2fs2", "libncursesw6", "libss2", "libsystemd0", "libtinfo6", "libudev1", "ncurses-base", "ncurses-bin"},
			leftOut: map[string]string{"libidn2-0": "policy.yaml:3:9: ignore CVE-2019-18224 (not reachable)"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			res := mustParse(t, tc.policy).For("docker.io/library/debian:10", "debian:10").Apply(r, now)
			if got := fixable(res.Report); !slices.Equal(got, tc.fixable) {
				t.Errorf("fixable packages %q, want %q", got, tc.fixable)
			}
			rules := map[string]string{}
			for _, l := range res.LeftOut {
				if l.ID == "" || rules[l.Package] == "" {
					rules[l.Package] = l.Rule
				}
			}
			for pkg, want := range tc.leftOut {
				if !strings.Contains(rules[pkg], want) {
					t.Errorf("%s left out by %q, want %q", pkg, rules[pkg], want)
				}
			}
			if tc.unfixable != 0 && len(res.Unfixable) != tc.unfixable {
				t.Errorf("%d unfixable at or above the floor, want %d: %q", len(res.Unfixable), tc.unfixable, res.Unfixable)
			}
		})
	}
}

func TestExpiredIgnoreWarns(t *testing.T) {
	res := mustParse(t, "version: 1\nignore:\n  - id: CVE-2019-15718\n    reason: old\n    expires: 2026-01-01\n").Apply(busterReport(t), now)
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "policy.yaml:3:9: the ignore of CVE-2019-15718 expired on 2026-01-01") {
		t.Errorf("warnings %q", res.Warnings)
	}
	// The day it expires it still applies.
	res = mustParse(t, "version: 1\nignore:\n  - id: X\n    reason: r\n    expires: 2026-12-05\n").Apply(report.Report{}, now)
	if len(res.Warnings) != 0 {
		t.Errorf("an ignore expiring today still applies: %q", res.Warnings)
	}
}

// Image rules: the first whose pattern matches overrides the defaults.
func TestImageRules(t *testing.T) {
	p := mustParse(t, `{"version": 1, "severity": "low", "fail-on-unfixable": true,
 "images": [{"match": "registry.example/app/*", "severity": "critical"}, {"match": "debian:*", "fail-on-unfixable": false}]}`)
	if s := p.For("registry.example/app/web:1", ""); s.Severity.Value != "CRITICAL" || !s.FailOnUnfixable.Value {
		t.Errorf("app rule: %+v", s)
	}
	if s := p.For("docker.io/library/debian:12", "debian:12"); s.Severity.Value != "LOW" || s.FailOnUnfixable.Value {
		t.Errorf("debian rule: %+v", s)
	}
	if s := p.For("docker.io/library/alpine:3", "alpine:3"); s.Severity.Value != "LOW" || !s.FailOnUnfixable.Value {
		t.Errorf("defaults: %+v", s)
	}
}

func TestParseErrors(t *testing.T) {
	for src, want := range map[string]string{
		"":                                     "empty policy",
		"severity: high\n":                     `policy.yaml:1:1: "version: 1" is required (got 0)`,
		"version: 1\nseverity: urgent\n":       `policy.yaml:2:11: severity "urgent"`,
		"version: 1\nsevrity: high\n":          `policy.yaml:2:1: unknown key "sevrity" in the policy`,
		"version: 1\nignore:\n  - id: CVE-1\n": "policy.yaml:3:5: an ignore entry needs an id and a reason",
		"version: 1\nignore:\n  - {id: a, reason: b, expires: tomorrow}\n": `policy.yaml:3:5: expires "tomorrow"`,
		"version: 1\npackages:\n  exclude: \"[\"\n":                        "policy.yaml:3:12: a list of package name patterns",
		"version: 1\npackages: {exclude: [\"[\"]}\n":                       `policy.yaml:2:22: bad package pattern "["`,
		"version: 1\nversion: 1\n":                                         `policy.yaml:2:1: "version" is given twice`,
		"{\"version\": 1, \"images\": [{\"severity\": \"low\"}]}":          "policy.yaml:1:27: an image rule needs a valid match pattern",
		"version: 1\nfail-on-unfixable: maybe\n":                           `policy.yaml:2:20: fail-on-unfixable: "maybe"`,
	} {
		_, err := Parse("policy.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", src, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("version: 1\nseverity: high\npackages: {include: [a*]}\nignore: [{id: X, reason: y, expires: 2027-01-01}]\nimages: [{match: \"*\"}]\n"))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(_ *testing.T, dt []byte) {
		p, err := Parse("f", dt)
		if err != nil {
			return
		}
		_ = p.For("docker.io/library/debian:12", "debian:12").Apply(report.Report{Packages: []report.Package{{Name: "a", Vulnerabilities: []report.Vulnerability{{ID: "X"}}}}}, now)
	})
}
