package integration

import (
	"context"
	"encoding/json"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/darn-dev/darn/patch"
)

// staleCreated is the creation time the source images' annotations state.
const staleCreated = "2020-01-01T00:00:00Z"

// platformImage is one platform of an image a test pushes: its root, as a
// state, and its config.
type platformImage struct {
	platform ocispecs.Platform
	st       llb.State
	config   []byte
}

// pushAnnotated pushes one image, or an index of several, with exporter
// attributes (annotations) of the test's choosing.
func pushAnnotated(t *testing.T, b bed, ref string, attrs map[string]string, imgs ...platformImage) {
	t.Helper()
	exportAttrs := map[string]string{"name": ref, "push": "true", "oci-mediatypes": "true"}
	maps.Copy(exportAttrs, attrs)
	_, err := b.client(t).Build(t.Context(), client.SolveOpt{
		Exports: []client.ExportEntry{{Type: client.ExporterImage, Attrs: exportAttrs}},
	}, "darn-annotated", func(ctx context.Context, c gwclient.Client) (*gwclient.Result, error) {
		res := gwclient.NewResult()
		exp := exptypes.Platforms{}
		for _, img := range imgs {
			def, err := img.st.Marshal(ctx, llb.Platform(img.platform))
			if err != nil {
				return nil, err
			}
			r, err := c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB()})
			if err != nil {
				return nil, err
			}
			ref, err := r.SingleRef()
			if err != nil {
				return nil, err
			}
			if len(imgs) == 1 {
				res.SetRef(ref)
				res.AddMeta(exptypes.ExporterImageConfigKey, img.config)
				return res, nil
			}
			id := patch.FormatPlatform(img.platform)
			res.AddRef(id, ref)
			res.AddMeta(exptypes.ExporterImageConfigKey+"/"+id, img.config)
			exp.Platforms = append(exp.Platforms, exptypes.Platform{ID: id, Platform: img.platform})
		}
		dt, err := json.Marshal(exp)
		if err != nil {
			return nil, err
		}
		res.AddMeta(exptypes.ExporterPlatformsKey, dt)
		return res, nil
	}, nil)
	if err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

// configOf returns an image's config as the registry serves it.
func configOf(t *testing.T, img registryImage) []byte {
	t.Helper()
	return img.blob(t, img.Manifest.Config.Digest.String())
}

// The original's manifest annotations go over to the patched image, its
// creation time refreshed, with darn's lineage beside them.
func TestAnnotationsCarriedOver(t *testing.T) {
	e := newEntryBed(t)
	src := hostileRef(e.bed, "annotated")
	base := fetchImage(t, e.TestImage)
	pushAnnotated(t, e.bed, src, map[string]string{
		"annotation-manifest." + ocispecs.AnnotationTitle:   "darn test",
		"annotation-manifest." + ocispecs.AnnotationCreated: staleCreated,
	}, platformImage{
		platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"},
		st:       llb.Image(e.TestImage).File(llb.Mkfile("/etc/darn-test-nonce", 0o644, []byte(src))),
		config:   configOf(t, base),
	})
	before := time.Now().Add(-time.Minute)
	tag := src + "-patched"
	runPlugin(t, e.bed, 0, "patch", "image", src, "--report", filepath.Join(writeReport(t, src, e.rel, e.cands), "report.json"),
		"--tag", tag, "--push", "--progress", "plain")
	orig, patched := fetchImage(t, src), fetchImage(t, tag)
	a := patched.Manifest.Annotations
	if a[ocispecs.AnnotationTitle] != "darn test" {
		t.Errorf("the original's annotations are not carried over: %v", a)
	}
	assertRecent(t, a[ocispecs.AnnotationCreated], before)
	if a[patch.KeyOriginalDigest] != orig.Digest || a[patch.KeyOriginalLayers] != strconv.Itoa(len(orig.Manifest.Layers)) || !strings.Contains(a[patch.KeyFixed], `"package"`) {
		t.Errorf("darn's lineage is not among the manifest's annotations: %v", a)
	}
}

// An index's annotations and its kept platform's manifest stay as they
// were; the patched platform's manifest and the index say when they were
// made.
func TestIndexAnnotationsCarriedOver(t *testing.T) {
	m := newMultiBed(t)
	src := m.repo("annotated-index") + ":src"
	var imgs []platformImage
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		orig := m.original(t, p)
		imgs = append(imgs, platformImage{platform: *fetchPlatform(t, m.image, p), st: llb.Image(repoOf(t, m.image) + "@" + orig.Digest), config: configOf(t, orig)})
	}
	pushAnnotated(t, m.bed, src, map[string]string{
		"annotation-index." + ocispecs.AnnotationTitle:                   "darn test index",
		"annotation-index." + ocispecs.AnnotationCreated:                 staleCreated,
		"annotation-manifest[linux/amd64]." + ocispecs.AnnotationCreated: staleCreated,
		"annotation-manifest[linux/arm64]." + ocispecs.AnnotationCreated: staleCreated,
	}, imgs...)
	before := time.Now().Add(-time.Minute)
	report := filepath.Join(m.reports(t, "amd64"), "scan-0.json")
	tag := strings.TrimSuffix(src, ":src") + ":patched"
	runPlugin(t, m.bed, 0, "patch", "image", src, "--platform", "linux/amd64", "--report", report, "--tag", tag, "--push", "--progress", "quiet")
	srcIdx, idx := fetchIndex(t, src), fetchIndex(t, tag)
	if idx.Annotations[ocispecs.AnnotationTitle] != "darn test index" {
		t.Errorf("index annotations = %v", idx.Annotations)
	}
	assertRecent(t, idx.Annotations[ocispecs.AnnotationCreated], before)
	srcManifests, _ := imageManifests(srcIdx)
	manifests, _ := imageManifests(idx)
	if manifests["linux/arm64"].Digest != srcManifests["linux/arm64"].Digest {
		t.Errorf("the kept linux/arm64 manifest changed: %s -> %s", srcManifests["linux/arm64"].Digest, manifests["linux/arm64"].Digest)
	}
	amd64 := fetchImage(t, repoOf(t, tag)+"@"+manifests["linux/amd64"].Digest.String())
	assertRecent(t, amd64.Manifest.Annotations[ocispecs.AnnotationCreated], before)
}

// assertRecent checks an RFC 3339 time is after before.
func assertRecent(t *testing.T, stamp string, before time.Time) {
	t.Helper()
	got, err := time.Parse(time.RFC3339, stamp)
	if err != nil || got.Before(before) {
		t.Errorf("created annotation %q is stale: want the patch's time (after %s)", stamp, before.Format(time.RFC3339))
	}
}
