package apkinstall

import (
	"slices"
	"strings"
	"testing"

	goapk "github.com/chainguard-dev/go-apk/pkg/apk"

	"github.com/darn-dev/darn/distros/apk"
)

// index is one repository holding pkgs.
func index(pkgs ...*goapk.Package) []goapk.NamedIndex {
	repo := goapk.Repository{URI: "http://127.0.0.1/darn/main/x86_64"}
	return []goapk.NamedIndex{goapk.NewNamedRepositoryWithIndex("", repo.WithIndex(&goapk.APKIndex{Packages: pkgs}))}
}

func pkg(name, version string, deps ...string) *goapk.Package {
	return &goapk.Package{Name: name, Version: version, Arch: "x86_64", Dependencies: deps}
}

// The bed's shape: each fix at the lowest version at or above it (not the
// newer one), the dependency the fix newly needs at its newest, the
// dependencies already satisfied left alone, an unreported package left.
func TestChoose(t *testing.T) {
	idx := index(
		pkg("darn-libfoo", "1.0-r2", "darn-libbar>=2.0", "so:libc.musl-x86_64.so.1"),
		pkg("darn-libfoo", "1.1-r0", "darn-libbar>=2.0"),
		pkg("darn-libfoo", "1.0-r1"),
		pkg("darn-libbar", "2.0-r0"), pkg("darn-libbar", "2.1-r0"), pkg("darn-libbar", "1.0-r0"),
		pkg("darn-tool", "2.3-r0", "musl>=1.2"), pkg("darn-tool", "2.4-r0"),
		pkg("darn-other", "1.1-r0"), pkg("musl", "1.2.6-r0"),
	)
	installed := []apk.Entry{
		{Name: "darn-libfoo", Version: "1.0-r0"},
		{Name: "darn-tool", Version: "2.3_rc1-r0"},
		{Name: "darn-other", Version: "1.0-r0"},
		{Name: "musl", Version: "1.2.5-r0", Lines: []string{"P:musl", "p:so:libc.musl-x86_64.so.1=1"}},
	}
	got, err := choose(idx, installed, []string{"darn-libfoo>=1.0-r2", "darn-tool>=2.3-r0"}, Options{Warn: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range got {
		old := "new"
		if c.Old != nil {
			old = c.Old.Version
		}
		names = append(names, c.Pkg.Name+" "+old+" -> "+c.Pkg.Version)
	}
	want := []string{"darn-libfoo 1.0-r0 -> 1.0-r2", "darn-libbar new -> 2.1-r0", "darn-tool 2.3_rc1-r0 -> 2.3-r0"}
	if !slices.Equal(names, want) {
		t.Errorf("chose %q, want %q", names, want)
	}
}

func TestChooseMissing(t *testing.T) {
	idx := index(pkg("darn-libfoo", "1.0-r1"), pkg("darn-x", "1.0-r0", "darn-gone"))
	_, err := choose(idx, nil, []string{"darn-libfoo>=1.0-r2", "darn-absent>=1"}, Options{Warn: func(string) {}})
	if err == nil || !strings.Contains(err.Error(), "darn-libfoo >= 1.0-r2 (the newest offered is 1.0-r1); darn-absent (no repository offers it)") {
		t.Errorf("missing fixes: %v", err)
	}
	var warned []string
	got, err := choose(idx, nil, []string{"darn-libfoo>=1.0-r2"}, Options{SkipMissing: true, Warn: func(s string) { warned = append(warned, s) }})
	if err != nil || len(got) != 0 || len(warned) != 1 {
		t.Errorf("skip missing: %v %v %q", got, err, warned)
	}
	if _, err := choose(idx, nil, []string{"darn-x>=1.0-r0"}, Options{Warn: func(string) {}}); err == nil || !strings.Contains(err.Error(), "depends on darn-gone, which no repository offers") {
		t.Errorf("missing dependency: %v", err)
	}
}

func TestSatisfies(t *testing.T) {
	for _, tc := range []struct {
		dep, have string
		want      bool
	}{
		{"a>=1.2", "1.2-r0", true},
		{"a>=1.2-r1", "1.2-r0", false},
		{"a<2", "1.9", true},
		{"a=1.0-r0", "1.0-r0", true},
		{"a>1.0", "1.0", false},
		{"a~1.2", "1.2.3-r0", true},
		{"a~1.2", "1.3", false},
		{"a", "anything", true},
		{"a<=1.0", "1.0", true},
	} {
		_, op, v := splitDep(tc.dep)
		if got := satisfies(tc.have, op, v); got != tc.want {
			t.Errorf("%s with %s: %v", tc.dep, tc.have, got)
		}
	}
}
