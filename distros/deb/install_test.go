package deb

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/golden"

	"github.com/darn-dev/darn/distros"
	darnllb "github.com/darn-dev/darn/llb"
	"github.com/darn-dev/darn/llb/llbtest"
	"github.com/darn-dev/darn/plan"
)

const (
	testBase    = "docker.io/library/debian@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	testTooling = "docker.io/library/debian@sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

var amd64 = ocispecs.Platform{OS: "linux", Architecture: "amd64"}

func testPlan() plan.Plan {
	return plan.Plan{Items: []plan.Item{
		{Name: "libc6", Installed: "2.36-9+deb12u9", Fixed: "2.36-9+deb12u10", Action: plan.ActionUpgrade},
		{Name: "libssl3", Installed: "3.0.15-1~deb12u1", Fixed: "3.0.16-1~deb12u1", Action: plan.ActionUpgrade},
		{Name: "tar", Action: plan.ActionNoFix},
		{Name: "zlib1g", Installed: "1:1.2.13.dfsg-1", Fixed: "1:1.2.13.dfsg-1", Action: plan.ActionAlreadyFixed},
	}}
}

// runner is a Runner on the test images, for a builder that can keep
// whole roots out of content-based cache matching; the tooling image is
// set too, and used by steps that run in it.
func runner(p ocispecs.Platform) darnllb.Runner {
	return darnllb.Runner{
		Family: "deb", Platform: p,
		Target: llb.Image(testBase, llb.Platform(p)), TargetRef: testBase,
		Tooling: llb.Image(testTooling, llb.Platform(p)), ToolingRef: testTooling,
		NoContentHash: true,
	}
}

// render marshals a step as it runs and renders it for a golden file.
func render(t *testing.T, s distros.Step, r darnllb.Runner) string {
	t.Helper()
	return llbtest.RenderState(t, darnllb.Run(s, r))
}

func TestUpgradeGolden(t *testing.T) {
	arm64 := ocispecs.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	mirrors := []distros.Mirror{
		{Original: "http://deb.example/debian", Mirror: "http://127.0.0.1:8080/debian"},
		{Original: "http://deb.example/debian-security", Mirror: "http://127.0.0.1:8080/debian-security"},
	}
	cases := map[string]struct {
		u distros.Upgrade
		r func(darnllb.Runner) darnllb.Runner
	}{
		"install-amd64.golden": {u: distros.Upgrade{Plan: testPlan()}},
		"install-amd64-host-network.golden": {
			u: distros.Upgrade{Plan: testPlan()},
			r: func(r darnllb.Runner) darnllb.Runner { r.Network = pb.NetMode_HOST; return r },
		},
		"install-arm64-proxy-nocache.golden": {u: distros.Upgrade{Plan: testPlan()}, r: func(r darnllb.Runner) darnllb.Runner {
			// An older builder, without exec.mount.cache.content.
			r = runner(arm64)
			r.NoContentHash = false
			r.Proxy, r.IgnoreCache = &llb.ProxyEnv{HTTPSProxy: "http://user:secret@proxy:3128", NoProxy: "localhost"}, true
			return r
		}},
		"install-amd64-mirrors-skip-timeout-epoch.golden": {u: distros.Upgrade{Plan: testPlan(), Mirrors: mirrors[:1], SkipMissing: true, FetchTimeout: 5 * time.Second, Epoch: time.Unix(1700000000, 0)}},
		"unpack-amd64-mirrors.golden":                     {u: distros.Upgrade{Plan: testPlan(), Tooling: true, Mirrors: mirrors}},
		"install-amd64-update-all.golden":                 {u: distros.Upgrade{Plan: testPlan(), Refreshed: true}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := Family{}.Upgrade(tc.u)
			if err != nil {
				t.Fatal(err)
			}
			r := runner(amd64)
			if tc.r != nil {
				r = tc.r(r)
			}
			golden.Assert(t, render(t, s, r), name)
		})
	}
}

// The update-all probe writes its answer to a mount of its own; the image
// is not changed.
func TestUpgradableGolden(t *testing.T) {
	installed := []plan.Package{
		{Name: "libc6", Version: "2.36-9+deb12u9", Installed: true},
		{Name: "gone", Version: "1.0", Installed: false},
		{Name: "-oAPT::x", Version: "1", Installed: true},
	}
	for name, tooling := range map[string]bool{"upgradable-amd64.golden": false, "upgradable-amd64-tooling.golden": true} {
		s, err := Family{}.Upgradable(distros.Upgrade{Installed: installed, Tooling: tooling})
		if err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, render(t, s, runner(amd64)), name)
	}
}

func TestParseUpgradable(t *testing.T) {
	got, err := Family{}.ParseUpgradable([]byte("libc6 2.36-9+deb12u10\ntar 1.34+dfsg-1.2+deb12u1\n"))
	if err != nil || len(got) != 2 || got["libc6"] != "2.36-9+deb12u10" || got["tar"] != "1.34+dfsg-1.2+deb12u1" {
		t.Errorf("ParseUpgradable = %v, %v", got, err)
	}
	for _, bad := range []string{"libc6\n", "-oAPT::X 1\n", "libc6 $(id)\n", "libc6 1 2\n"} {
		if _, err := (Family{}).ParseUpgradable([]byte(bad)); err == nil {
			t.Errorf("ParseUpgradable(%q) must fail", bad)
		}
	}
}

func TestTooling(t *testing.T) {
	cases := []struct {
		rel  distros.Release
		want string
	}{
		{distros.Release{ID: "debian", VersionID: "12"}, "docker.io/library/debian:12-slim"},
		{distros.Release{ID: "debian", VersionID: "11"}, "docker.io/library/debian:11-slim"},
		{distros.Release{ID: "ubuntu", VersionID: "22.04"}, "docker.io/library/ubuntu:22.04"},
		{distros.Release{ID: "ubuntu", VersionID: "23.10"}, ""},
		{distros.Release{ID: "debian", VersionID: "7"}, ""},
	}
	for _, tc := range cases {
		got, ok := Family{}.Tooling(tc.rel)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Tooling(%v) = %q, %v; want %q", tc.rel, got, ok, tc.want)
		}
	}
}

// The LLB, and so BuildKit's cache key, must not depend on the order of
// the plan's items.
func TestUpgradeDeterministic(t *testing.T) {
	head := func(pl plan.Plan) string {
		s, err := Family{}.Upgrade(distros.Upgrade{Plan: pl})
		if err != nil {
			t.Fatal(err)
		}
		def, err := darnllb.Run(s, runner(amd64)).Marshal(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		h, _ := def.Head()
		return h.String()
	}
	pl := testPlan()
	want := head(pl)
	for range 10 {
		rand.Shuffle(len(pl.Items), func(i, j int) { pl.Items[i], pl.Items[j] = pl.Items[j], pl.Items[i] })
		if got := head(pl); got != want {
			t.Fatalf("plan order %v gave %s, sorted order %s", pl.Items, got, want)
		}
	}
}

func TestUpgradeRejects(t *testing.T) {
	cases := map[string]plan.Plan{
		"nothing to upgrade": {Items: []plan.Item{{Name: "tar", Action: plan.ActionNoFix}}},
		"bad name":           {Items: []plan.Item{{Name: "libc6;rm -rf /", Fixed: "1", Action: plan.ActionUpgrade}}},
		"bad version":        {Items: []plan.Item{{Name: "libc6", Fixed: "$(id)", Action: plan.ActionUpgrade}}},
	}
	for name, pl := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Family{}.Upgrade(distros.Upgrade{Plan: pl})
			if err == nil {
				t.Fatal("want an error")
			}
			if name == "nothing to upgrade" && !errors.Is(err, plan.ErrNothingToPatch) {
				t.Fatalf("got %v, want ErrNothingToPatch", err)
			}
		})
	}
}

func TestPackageURL(t *testing.T) {
	tests := []struct {
		rel                 distros.Release
		name, version, arch string
		want                string
	}{
		{distros.Release{ID: "debian", VersionID: "12"}, "libc6", "2.36-9+deb12u10", "amd64", "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12"},
		{distros.Release{ID: "debian", VersionID: "12"}, "tzdata", "2025b-0+deb12u1", "all", "pkg:deb/debian/tzdata@2025b-0%2Bdeb12u1?arch=all&distro=debian-12"},
		// The epoch's ':' stays unencoded, as the purl specification says.
		{distros.Release{ID: "ubuntu", VersionID: "22.04"}, "libssl3", "1:3.0.2-0ubuntu1.19", "arm64", "pkg:deb/ubuntu/libssl3@1:3.0.2-0ubuntu1.19?arch=arm64&distro=ubuntu-22.04"},
		// Debian testing and sid have no VERSION_ID.
		{distros.Release{ID: "debian"}, "curl", "8.14.1-2", "", "pkg:deb/debian/curl@8.14.1-2?distro=debian"},
		// An os-release ID may itself contain '-'.
		{distros.Release{ID: "my-distro", VersionID: "1.2"}, "Curl", "8.0", "armhf", "pkg:deb/my-distro/curl@8.0?arch=armhf&distro=my-distro-1.2"},
	}
	for _, tc := range tests {
		if got := (Family{}).PackageURL(tc.rel, tc.name, tc.version, tc.arch); got != tc.want {
			t.Errorf("PackageURL(%v, %q, %q, %q) = %q, want %q", tc.rel, tc.name, tc.version, tc.arch, got, tc.want)
		}
	}
}
