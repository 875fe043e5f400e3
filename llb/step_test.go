package llb

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/distros"
)

const (
	imageA = "docker.io/library/debian@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	imageB = "docker.io/library/debian@sha256:2222222222222222222222222222222222222222222222222222222222222222"
	tool   = "docker.io/library/debian@sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

var amd64 = ocispecs.Platform{OS: "linux", Architecture: "amd64"}

func runnerFor(p ocispecs.Platform, target, tooling string) Runner {
	return Runner{Family: "deb", Platform: p, Target: llb.Image(target), TargetRef: target, Tooling: llb.Image(tooling), ToolingRef: tooling}
}

// Cache mounts are written by the programs of the image the step runs in,
// so no two images may share them: a patch of one image must never read
// what another image's package manager (possibly a hostile wrapper) left
// there.
func TestCacheIDIsolatesImages(t *testing.T) {
	lists := distros.Cache{Path: "/var/lib/apt/lists", Name: "lists"}
	inImage, inTooling := distros.Step{}, distros.Step{InTooling: true}
	id := func(r Runner, s distros.Step) string { return r.CacheID(s, lists) }
	a := runnerFor(amd64, imageA, tool)
	if id(a, inImage) == id(runnerFor(amd64, imageB, tool), inImage) {
		t.Error("two images share a cache")
	}
	sameBytes := runnerFor(amd64, "registry.example/mirror/debian@sha256:"+strings.Repeat("0", 64), tool)
	if id(a, inImage) != id(sameBytes, inImage) {
		t.Error("one image (same digest) under two names should share its cache")
	}
	if id(a, inImage) == id(runnerFor(ocispecs.Platform{OS: "linux", Architecture: "arm64"}, imageA, tool), inImage) {
		t.Error("two platforms share a cache")
	}
	if id(a, inImage) == (Runner{Family: "rpm", Platform: amd64, TargetRef: imageA}).CacheID(inImage, lists) {
		t.Error("two families share a cache")
	}
	// The tooling image's programs run a tooling step: its caches are the
	// tooling image's, whatever the target, and never the target's.
	if id(a, inTooling) == id(a, inImage) {
		t.Error("a tooling step shares the target's own cache")
	}
	if id(a, inTooling) != id(runnerFor(amd64, imageB, tool), inTooling) {
		t.Error("tooling steps of two targets should share the tooling image's cache")
	}
	if id(a, inTooling) == id(runnerFor(amd64, imageA, imageB), inTooling) {
		t.Error("two tooling images share a cache")
	}
	if id(a, inImage) == a.CacheID(inImage, distros.Cache{Name: "archives"}) {
		t.Error("two caches of one step share an ID")
	}
}

// execOps returns the exec ops of a marshalled state.
func execOps(t *testing.T, st llb.State) []*pb.ExecOp {
	t.Helper()
	def, err := st.Marshal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []*pb.ExecOp
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		if ex, ok := op.Op.(*pb.Op_Exec); ok {
			out = append(out, ex.Exec)
		}
	}
	return out
}

var step = distros.Step{Name: "test", ScriptName: "s.sh", Script: "true", Caches: []distros.Cache{{Path: "/c", Name: "c"}}}

// Proxy settings reach the step through BuildKit's proxy field, which is
// not part of the cache key, never as plain environment.
func TestProxyNotInEnvironment(t *testing.T) {
	r := runnerFor(amd64, imageA, tool)
	r.Proxy = &llb.ProxyEnv{HTTPProxy: "http://user:secret@proxy:3128"}
	for _, ex := range execOps(t, Run(step, r)) {
		for _, e := range ex.Meta.Env {
			if strings.Contains(e, "secret") {
				t.Errorf("proxy credentials in the step's environment: %s", e)
			}
		}
		if p := ex.Meta.ProxyEnv; p == nil || p.HttpProxy != r.Proxy.HTTPProxy {
			t.Errorf("proxy field = %v, want %s", p, r.Proxy.HTTPProxy)
		}
	}
}

// The original root is an input of its own, never the input the root or
// the target mount uses: BuildKit v0.34 releases an input two mounts share
// twice when the step fails, and reports that instead of the failure.
func TestNoInputMountedTwice(t *testing.T) {
	for name, s := range map[string]distros.Step{"in the image": step, "in tooling": {ScriptName: "s.sh", InTooling: true}} {
		for _, ex := range execOps(t, Run(s, runnerFor(amd64, imageA, tool))) {
			seen := map[int64]string{}
			for _, m := range ex.Mounts {
				if m.Input < 0 {
					continue
				}
				if other, ok := seen[m.Input]; ok {
					t.Errorf("%s: input %d mounted at %s and %s", name, m.Input, other, m.Dest)
				}
				seen[m.Input] = m.Dest
			}
		}
	}
}

// A tooling step that fetches what the image's own repositories name keeps
// its caches per image too: the image's configuration decides what lands
// there.
func TestCacheIDPerTarget(t *testing.T) {
	lists := distros.Cache{Path: "/var/cache/dnf", Name: "dnf"}
	s := distros.Step{InTooling: true, CachePerTarget: true}
	a, b := runnerFor(amd64, imageA, tool), runnerFor(amd64, imageB, tool)
	if a.CacheID(s, lists) == b.CacheID(s, lists) {
		t.Error("two targets share a per-target tooling cache")
	}
	if a.CacheID(s, lists) == a.CacheID(distros.Step{InTooling: true}, lists) {
		t.Error("a per-target tooling cache is the tooling image's shared one")
	}
}
