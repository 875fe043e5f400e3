package apk

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/moby/buildkit/client/llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/golden"

	"github.com/darn-dev/darn/distros"
	darnllb "github.com/darn-dev/darn/llb"
	"github.com/darn-dev/darn/llb/llbtest"
	"github.com/darn-dev/darn/plan"
)

const (
	testImage   = "docker.io/library/alpine@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	testTooling = "ghcr.io/darn-dev/darn@sha256:1111111111111111111111111111111111111111111111111111111111111111"
)

// fakeFS is an image holding only the files it maps.
type fakeFS map[string]string

func (f fakeFS) ReadFile(_ context.Context, name string) ([]byte, error) {
	if v, ok := f[name]; ok {
		return []byte(v), nil
	}
	return nil, fs.ErrNotExist
}

func (f fakeFS) ReadDir(context.Context, string) ([]fs.FileInfo, error) { return nil, fs.ErrNotExist }

func (f fakeFS) Stat(context.Context, string) (fs.FileInfo, error) { return nil, fs.ErrNotExist }

func TestDetect(t *testing.T) {
	root := fakeFS{"/etc/alpine-release": "3.20.3\n"}
	for _, tc := range []struct {
		in     distros.Release
		want   string
		wantOK bool
	}{
		{distros.Release{ID: "alpine", VersionID: "3.20.3"}, "alpine 3.20.3", true},
		{distros.Release{ID: "alpine"}, "alpine 3.20.3", true}, // from alpine-release
		{distros.Release{ID: "wolfi", VersionID: "20230201"}, "wolfi 20230201", true},
		{distros.Release{ID: "chainguard", VersionID: "20230214"}, "chainguard 20230214", true},
		{distros.Release{ID: "postmarketos", IDLike: []string{"alpine"}, VersionID: "v24.06"}, "postmarketos v24.06", true},
		{distros.Release{ID: "debian", VersionID: "12"}, "", false},
	} {
		got, ok := Family{}.Detect(t.Context(), tc.in, root)
		if ok != tc.wantOK || (ok && got.ID+" "+got.VersionID != tc.want) {
			t.Errorf("Detect(%+v) = %+v, %v; want %q, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestFromReportAndTooling(t *testing.T) {
	for fam, want := range map[string]string{"alpine": "alpine", "Wolfi": "wolfi", "chainguard": "chainguard"} {
		rel, ok := Family{}.FromReport(fam, "3.20.3 ")
		if !ok || rel.ID != want || rel.VersionID != "3.20.3" {
			t.Errorf("FromReport(%q) = %+v, %v", fam, rel, ok)
		}
	}
	if _, ok := (Family{}).FromReport("debian", "12"); ok {
		t.Error("debian is no apk family")
	}
	if img, ok := (Family{ToolingImage: "ghcr.io/darn-dev/darn:1.2.0"}).Tooling(distros.Release{ID: "wolfi"}); !ok || img != "ghcr.io/darn-dev/darn:1.2.0" {
		t.Errorf("Tooling = %q, %v", img, ok)
	}
	if _, ok := (Family{}).Tooling(distros.Release{ID: "alpine"}); ok {
		t.Error("no tooling image without darn's own")
	}
}

// Trivy writes apk purls with the distribution as namespace and its
// version as the distro qualifier.
func TestPackageURL(t *testing.T) {
	got := Family{}.PackageURL(distros.Release{ID: "alpine", VersionID: "3.20.3"}, "libcrypto3", "3.3.2-r0", "x86_64")
	if want := "pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=3.20.3"; got != want {
		t.Errorf("PackageURL = %s, want %s", got, want)
	}
}

func testPlan() plan.Plan {
	return plan.Plan{Items: []plan.Item{
		{Name: "darn-libfoo", Installed: "1.0-r0", Fixed: "1.0-r2", Action: plan.ActionUpgrade},
		{Name: "darn-tool", Installed: "2.3_rc1-r0", Fixed: "2.3-r0", Action: plan.ActionUpgrade},
		{Name: "darn-other", Installed: "1.0-r0", Action: plan.ActionAlreadyFixed},
	}}
}

func render(t *testing.T, s distros.Step) string {
	t.Helper()
	r := darnllb.Runner{
		Family: "apk", Platform: ocispecs.Platform{OS: "linux", Architecture: "arm64"}, Target: llb.Image(testImage), TargetRef: testImage,
		Tooling: llb.Image(testTooling), ToolingRef: testTooling,
	}
	return llbtest.RenderState(t, darnllb.Run(s, r))
}

// The installer's steps run darn-apk from darn's image with the image's
// root mounted, its requests as argv, no cache mount, /tmp a tmpfs.
func TestStepsGolden(t *testing.T) {
	u := distros.Upgrade{
		Plan: testPlan(), Tooling: true, Release: distros.Release{ID: "alpine", VersionID: "3.20.3"},
		Mirrors:      []distros.Mirror{{Original: "https://dl-cdn.alpinelinux.org/alpine", Mirror: "http://127.0.0.1:8080/alpine"}},
		FetchTimeout: 5 * time.Second, Epoch: time.Unix(1700000000, 0), SkipMissing: true,
	}
	up, err := Family{}.Upgrade(u)
	if err != nil {
		t.Fatal(err)
	}
	list, err := Family{}.Upgradable(u)
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, render(t, up)+"---\n"+render(t, list), "steps.golden")
}

func TestUpgradeRefusesBadRequests(t *testing.T) {
	for _, it := range []plan.Item{{Name: "a;rm -rf", Fixed: "1.0-r0"}, {Name: "a", Fixed: "1.0 r0"}, {Name: "a", Fixed: ""}} {
		it.Action = plan.ActionUpgrade
		if _, err := (Family{}).Upgrade(distros.Upgrade{Plan: plan.Plan{Items: []plan.Item{it}}}); err == nil {
			t.Errorf("%+v: no error", it)
		}
	}
	if _, err := (Family{}).Upgrade(distros.Upgrade{}); !errors.Is(err, plan.ErrNothingToPatch) {
		t.Errorf("nothing to upgrade: %v", err)
	}
}

func TestParseRequest(t *testing.T) {
	n, v, err := ParseRequest(Request("darn-tool", "2.3-r0"))
	if err != nil || n != "darn-tool" || v != "2.3-r0" {
		t.Errorf("ParseRequest = %q %q %v", n, v, err)
	}
	for _, bad := range []string{"darn-tool", ">=1.0", "a>=", "a b>=1.0", "-a>=1.0"} {
		if _, _, err := ParseRequest(bad); err == nil {
			t.Errorf("ParseRequest(%q) gave no error", bad)
		}
	}
}

// An image without os-release is recognised by /etc/alpine-release.
func TestDetectFiles(t *testing.T) {
	if rel, ok := (Family{}).DetectFiles(t.Context(), fakeFS{"/etc/alpine-release": "3.19.4\n"}); !ok || rel.ID != "alpine" || rel.VersionID != "3.19.4" {
		t.Errorf("DetectFiles = %+v, %v", rel, ok)
	}
	for _, root := range []fakeFS{{}, {"/etc/alpine-release": ""}, {"/etc/alpine-release": "3.19 edge"}} {
		if _, ok := (Family{}).DetectFiles(t.Context(), root); ok {
			t.Errorf("DetectFiles(%v) recognised it", root)
		}
	}
}
