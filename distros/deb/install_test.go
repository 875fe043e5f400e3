package deb

import (
	"context"
	"errors"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/golden"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/llb/llbtest"
	"github.com/darn-dev/darn/policy"
)

const testBase = "docker.io/library/debian@sha256:0000000000000000000000000000000000000000000000000000000000000000"

func testPlan() policy.Plan {
	return policy.Plan{Items: []policy.Item{
		{Name: "libc6", Installed: "2.36-9+deb12u9", Fixed: "2.36-9+deb12u10", Action: policy.ActionUpgrade},
		{Name: "libssl3", Installed: "3.0.15-1~deb12u1", Fixed: "3.0.16-1~deb12u1", Action: policy.ActionUpgrade},
		{Name: "tar", Action: policy.ActionNoFix},
		{Name: "zlib1g", Installed: "1:1.2.13.dfsg-1", Fixed: "1:1.2.13.dfsg-1", Action: policy.ActionAlreadyFixed},
	}}
}

func marshalInstall(t *testing.T, plan policy.Plan, opt InstallOptions) *llb.Definition {
	t.Helper()
	base := llb.Image(testBase, llb.Platform(opt.Platform))
	st, err := Install(base, plan, opt)
	if err != nil {
		t.Fatal(err)
	}
	def, err := st.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return def
}

func TestInstallGolden(t *testing.T) {
	cases := map[string]InstallOptions{
		"install-amd64.golden":              {Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}},
		"install-amd64-host-network.golden": {Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}, Network: pb.NetMode_HOST},
		"install-arm64-proxy-nocache.golden": {
			Platform:    ocispecs.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
			Env:         [][2]string{{"HTTPS_PROXY", "http://proxy:3128"}, {"NO_PROXY", "localhost"}},
			IgnoreCache: true,
		},
	}
	for name, opt := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := llbtest.Render(marshalInstall(t, testPlan(), opt))
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, out, name)
		})
	}
}

// The tooling path runs in the tooling image with the target mounted twice:
// read-write (the result) and read-only (the reference for the diff).
func TestInstallWithToolingGolden(t *testing.T) {
	opt := InstallOptions{
		Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"},
		Mirrors: []distros.Mirror{
			{Original: "http://deb.example/debian", Mirror: "http://127.0.0.1:8080/debian"},
			{Original: "http://deb.example/debian-security", Mirror: "http://127.0.0.1:8080/debian-security"},
		},
	}
	target := llb.Image(testBase, llb.Platform(opt.Platform))
	tooling := llb.Image("docker.io/library/debian@sha256:1111111111111111111111111111111111111111111111111111111111111111", llb.Platform(opt.Platform))
	st, err := InstallWithTooling(target, tooling, testPlan(), opt)
	if err != nil {
		t.Fatal(err)
	}
	def, err := st.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := llbtest.Render(def)
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, out, "unpack-amd64-mirrors.golden")
}

func TestDefaultToolingImage(t *testing.T) {
	cases := []struct {
		rel  distros.Release
		want string
	}{
		{distros.Release{ID: "debian", VersionID: "12"}, "docker.io/library/debian:12-slim"},
		{distros.Release{ID: "debian", VersionID: "11"}, "docker.io/library/debian:11-slim"},
		{distros.Release{ID: "ubuntu", VersionID: "22.04"}, "docker.io/library/ubuntu:22.04"},
		{distros.Release{ID: "debian", VersionID: "7"}, ""},
	}
	for _, tc := range cases {
		rel, want := tc.rel, tc.want
		got, err := DefaultToolingImage(rel)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("DefaultToolingImage(%v) = %q, %v; want %q", rel, got, err, want)
		}
	}
}

// The LLB, and so BuildKit's cache key, must not depend on plan order.
func TestInstallDeterministic(t *testing.T) {
	opt := InstallOptions{Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}}
	plan := testPlan()
	a := marshalInstall(t, plan, opt)
	b := marshalInstall(t, plan, opt)
	ha, _ := a.Head()
	hb, _ := b.Head()
	if ha != hb {
		t.Fatalf("marshalling twice gave %s and %s", ha, hb)
	}
}

func TestInstallRejects(t *testing.T) {
	opt := InstallOptions{Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}}
	cases := map[string]struct {
		plan policy.Plan
		want error
	}{
		"nothing to upgrade": {plan: policy.Plan{Items: []policy.Item{{Name: "tar", Action: policy.ActionNoFix}}}},
		"bad name":           {plan: policy.Plan{Items: []policy.Item{{Name: "libc6;rm -rf /", Fixed: "1", Action: policy.ActionUpgrade}}}},
		"bad version":        {plan: policy.Plan{Items: []policy.Item{{Name: "libc6", Fixed: "$(id)", Action: policy.ActionUpgrade}}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Install(llb.Image(testBase), tc.plan, opt)
			if err == nil {
				t.Fatal("want an error")
			}
			if name == "nothing to upgrade" && !errors.Is(err, policy.ErrNothingToPatch) {
				t.Fatalf("got %v, want ErrNothingToPatch", err)
			}
		})
	}
}
