package frontend

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	"github.com/moby/buildkit/solver/pb"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	digest "github.com/opencontainers/go-digest"

	"github.com/darn-dev/darn/patch"
)

// patchedConfig is testConfig as darn patched it earlier: one layer more,
// and a lineage naming its original (registry.example/app, one layer)
// and the fix of libc6 that layer holds.
func patchedConfig(t *testing.T, originalName string) string {
	t.Helper()
	var cfg dockerspec.DockerOCIImage
	if err := json.Unmarshal([]byte(testConfig), &cfg); err != nil {
		t.Fatal(err)
	}
	l := patch.Lineage{
		OriginalName: originalName, OriginalDigest: digest.FromString("original"), OriginalLayers: 1,
		Fixed: []patch.Fix{{Package: "libc6", Version: "2.36-9+deb12u10", Vulnerabilities: []string{"CVE-2025-1"}}},
	}
	cfg.Config.Labels = l.Labels()
	cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, "sha256:bbbb")
	dt, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(dt)
}

// execEnv lists the environment of every exec step solved.
func (f *fakeClient) execEnv() []string {
	var out []string
	for _, d := range f.solved {
		for _, dt := range d.Def {
			var op pb.Op
			if err := op.UnmarshalVT(dt); err == nil && op.GetExec() != nil {
				out = append(out, op.GetExec().GetMeta().GetEnv()...)
			}
		}
	}
	return out
}

// A patch of an image darn patched starts again from the original its
// lineage names: the new layer holds the earlier fix and the new one.
func TestBuildRepatchFromOriginal(t *testing.T) {
	f := newFake(map[string]string{"image": "debian:12-patched", "context:report": "local:report"})
	f.imageConfig = patchedConfig(t, "registry.example/debian:12")
	f.files["/var/lib/dpkg/status"] = status("libc6", "2.36-9+deb12u10", "openssl", "3.0.15-1~deb12u1", "tar", "1.34+dfsg-1.2")
	f.afterStatus = status("libc6", "2.36-9+deb12u10", "openssl", "3.0.16-1~deb12u1", "tar", "1.34+dfsg-1.2")
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	original := "registry.example/debian@" + digest.FromString("original").String()
	if !slices.Contains(f.execEnv(), "DARN_BASE_IMAGE="+original) {
		t.Errorf("the upgrade does not run on the original %s: %v", original, f.execEnv())
	}
	sums := summaries(t, res)
	if sums[0].Original != original {
		t.Errorf("summary original = %q", sums[0].Original)
	}
	var cfg dockerspec.DockerOCIImage
	if err := json.Unmarshal(res.Metadata[exptypes.ExporterImageConfigKey], &cfg); err != nil {
		t.Fatal(err)
	}
	fixed := cfg.Config.Labels[patch.KeyFixed]
	if !strings.Contains(fixed, `"package":"libc6"`) || !strings.Contains(fixed, `"package":"openssl","version":"3.0.16-1~deb12u1"`) {
		t.Errorf("the lineage must hold the earlier fix and the new one: %s", fixed)
	}
	if cfg.Config.Labels[patch.KeyOriginalDigest] != digest.FromString("original").String() {
		t.Errorf("the original stays the original: %v", cfg.Config.Labels)
	}
}

// When the original cannot be had, the new layer goes on top, with a
// warning saying why, and the summary (which the plugin prints) says it too.
func TestBuildRepatchOriginalUnavailable(t *testing.T) {
	f := newFake(map[string]string{"image": "debian:12-patched", "context:report": "local:report"})
	f.imageConfig = patchedConfig(t, "registry.example/gone:1")
	f.files["/var/lib/dpkg/status"] = status("libc6", "2.36-9+deb12u10", "openssl", "3.0.15-1~deb12u1")
	f.afterStatus = status("libc6", "2.36-9+deb12u10", "openssl", "3.0.16-1~deb12u1")
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(f.warnings, "\n"), "the original image it was patched from is unavailable") {
		t.Errorf("warnings = %q", f.warnings)
	}
	if got := summaries(t, res)[0].Stacked; !strings.Contains(got, "the original image it was patched from is unavailable") {
		t.Errorf("summary's stacked = %q", got)
	}
	if !slices.Contains(f.execEnv(), "DARN_BASE_IMAGE=docker.io/library/debian:12-patched@"+digest.FromString("manifest").String()) {
		t.Errorf("the upgrade must run on the image itself: %v", f.execEnv())
	}
}

// With lineage-annotations the lineage is also the manifest's annotations.
func TestBuildLineageAnnotations(t *testing.T) {
	f := newFake(map[string]string{"image": "debian:12", "context:report": "local:report", patch.KeyLineage: "true"})
	res, err := Build(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Metadata[exptypes.AnnotationManifestKey(nil, patch.KeyOriginalName)]); got != "debian:12" {
		t.Errorf("annotation %s = %q; metadata keys: %v", patch.KeyOriginalName, got, keys(res.Metadata))
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
