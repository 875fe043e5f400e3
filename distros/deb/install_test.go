package deb

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/golden"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/llb/llbtest"
	"github.com/darn-dev/darn/plan"
)

const (
	testBase    = "docker.io/library/debian@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	testTooling = "docker.io/library/debian@sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

func testPlan() plan.Plan {
	return plan.Plan{Items: []plan.Item{
		{Name: "libc6", Installed: "2.36-9+deb12u9", Fixed: "2.36-9+deb12u10", Action: plan.ActionUpgrade},
		{Name: "libssl3", Installed: "3.0.15-1~deb12u1", Fixed: "3.0.16-1~deb12u1", Action: plan.ActionUpgrade},
		{Name: "tar", Action: plan.ActionNoFix},
		{Name: "zlib1g", Installed: "1:1.2.13.dfsg-1", Fixed: "1:1.2.13.dfsg-1", Action: plan.ActionAlreadyFixed},
	}}
}

func marshalInstall(t *testing.T, pl plan.Plan, opt InstallOptions) *llb.Definition {
	t.Helper()
	base := llb.Image(testBase, llb.Platform(opt.Platform))
	st, err := Install(base, pl, opt)
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
		"install-amd64.golden":              {Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}, Base: testBase},
		"install-amd64-host-network.golden": {Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}, Base: testBase, Network: pb.NetMode_HOST},
		"install-arm64-proxy-nocache.golden": {
			Platform:    ocispecs.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
			Base:        testBase,
			Proxy:       &llb.ProxyEnv{HTTPSProxy: "http://user:secret@proxy:3128", NoProxy: "localhost"},
			IgnoreCache: true,
		},
		"install-amd64-mirrors-skip-timeout.golden": {
			Platform:     ocispecs.Platform{OS: "linux", Architecture: "amd64"},
			Base:         testBase,
			Mirrors:      []distros.Mirror{{Original: "http://deb.example/debian", Mirror: "http://127.0.0.1:8080/debian"}},
			SkipMissing:  true,
			FetchTimeout: 5 * time.Second,
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
		Base:     testBase,
		Tooling:  testTooling,
		Mirrors: []distros.Mirror{
			{Original: "http://deb.example/debian", Mirror: "http://127.0.0.1:8080/debian"},
			{Original: "http://deb.example/debian-security", Mirror: "http://127.0.0.1:8080/debian-security"},
		},
	}
	target := llb.Image(testBase, llb.Platform(opt.Platform))
	tooling := llb.Image(testTooling, llb.Platform(opt.Platform))
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

// The LLB, and so BuildKit's cache key, must not depend on the order of
// the plan's items.
func TestInstallDeterministic(t *testing.T) {
	opt := InstallOptions{Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}, Base: testBase}
	plan := testPlan()
	want, _ := marshalInstall(t, plan, opt).Head()
	for range 10 {
		rand.Shuffle(len(plan.Items), func(i, j int) { plan.Items[i], plan.Items[j] = plan.Items[j], plan.Items[i] })
		got, _ := marshalInstall(t, plan, opt).Head()
		if got != want {
			t.Fatalf("plan order %v gave %s, sorted order %s", plan.Items, got, want)
		}
	}
}

func TestInstallRejects(t *testing.T) {
	opt := InstallOptions{Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}}
	cases := map[string]struct {
		pl plan.Plan
		want error
	}{
		"nothing to upgrade": {pl: plan.Plan{Items: []plan.Item{{Name: "tar", Action: plan.ActionNoFix}}}},
		"bad name":           {pl: plan.Plan{Items: []plan.Item{{Name: "libc6;rm -rf /", Fixed: "1", Action: plan.ActionUpgrade}}}},
		"bad version":        {pl: plan.Plan{Items: []plan.Item{{Name: "libc6", Fixed: "$(id)", Action: plan.ActionUpgrade}}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Install(llb.Image(testBase), tc.pl, opt)
			if err == nil {
				t.Fatal("want an error")
			}
			if name == "nothing to upgrade" && !errors.Is(err, plan.ErrNothingToPatch) {
				t.Fatalf("got %v, want ErrNothingToPatch", err)
			}
		})
	}
}

// Cache mounts are written by the programs of the image the step runs in,
// so no two images may share them: a patch of one image must never read
// what another image's apt-get (possibly a hostile wrapper) left there.
func TestCacheIDIsolatesImages(t *testing.T) {
	amd64 := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	other := "docker.io/library/debian@sha256:2222222222222222222222222222222222222222222222222222222222222222"
	sameBytesElsewhere := "registry.example/mirror/debian@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	id := func(o InstallOptions) string { return o.CacheID() }
	inImage := InstallOptions{Platform: amd64, Base: testBase}
	if id(inImage) == id(InstallOptions{Platform: amd64, Base: other}) {
		t.Error("two images share a cache")
	}
	if id(inImage) != id(InstallOptions{Platform: amd64, Base: sameBytesElsewhere}) {
		t.Error("one image (same digest) under two names should share its cache")
	}
	if id(inImage) == id(InstallOptions{Platform: ocispecs.Platform{OS: "linux", Architecture: "arm64"}, Base: testBase}) {
		t.Error("two platforms share a cache")
	}
	// The tooling image's programs run the tooling step: its caches are
	// the tooling image's, whatever the target, and never the target's.
	withTooling := InstallOptions{Platform: amd64, Base: testBase, Tooling: testTooling}
	if id(withTooling) == id(inImage) {
		t.Error("a tooling step shares the target's own cache")
	}
	if id(withTooling) != id(InstallOptions{Platform: amd64, Base: other, Tooling: testTooling}) {
		t.Error("tooling steps of two targets should share the tooling image's cache")
	}
	if id(withTooling) == id(InstallOptions{Platform: amd64, Base: testBase, Tooling: other}) {
		t.Error("two tooling images share a cache")
	}
}

// Proxy settings reach the step through BuildKit's proxy field, which is
// not part of the cache key, never as plain environment.
func TestProxyNotInEnvironment(t *testing.T) {
	opt := InstallOptions{
		Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"},
		Base:     testBase,
		Proxy:    &llb.ProxyEnv{HTTPProxy: "http://user:secret@proxy:3128"},
	}
	def := marshalInstall(t, testPlan(), opt)
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		ex, ok := op.Op.(*pb.Op_Exec)
		if !ok {
			continue
		}
		for _, e := range ex.Exec.Meta.Env {
			if strings.Contains(e, "secret") {
				t.Errorf("proxy credentials in the step's environment: %s", e)
			}
		}
		if p := ex.Exec.Meta.ProxyEnv; p == nil || p.HttpProxy != opt.Proxy.HTTPProxy {
			t.Errorf("proxy field = %v, want %s", p, opt.Proxy.HTTPProxy)
		}
	}
}
