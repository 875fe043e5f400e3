package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/distribution/reference"
)

// bakeTarget is one target of a bake file in buildx's JSON form.
type bakeTarget struct {
	Context    string            `json:"context"`
	Dockerfile string            `json:"dockerfile,omitempty"`
	Args       map[string]string `json:"args,omitempty"`
	Contexts   map[string]string `json:"contexts"`
	Output     []string          `json:"output"`
}

// Three targets (different images and reports, one with two outputs, one a
// Patchfile) run concurrently on one builder through darn's frontend.
func TestBake(t *testing.T) {
	e := newEntryBed(t)
	demo := os.Getenv("DARN_DEMO_IMAGE")
	if demo == "" {
		t.Fatal("the test bed lacks DARN_DEMO_IMAGE")
	}
	half := halfBySource(e.cands)
	// Bake grants file access only below its working directory, so every
	// context and output lives in one.
	dir := t.TempDir()
	for sub, src := range map[string]string{"report-full": e.reportDir, "report-half": writeReport(t, demo, e.rel, half), "patchfile": e.patchfile(t)} {
		copyDir(t, src, filepath.Join(dir, sub))
	}
	for _, sub := range []string{"empty-test", "empty-demo"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tags := map[string]string{"test": e.tag("bake-test"), "demo": e.tag("bake-demo"), "patchfile": e.tag("bake-patchfile")}
	syntax := map[string]string{"BUILDKIT_SYNTAX": e.frontendImage}
	bake := map[string]any{
		"group": map[string]any{"default": map[string]any{"targets": []string{"test", "demo", "patchfile"}}},
		"target": map[string]bakeTarget{
			"test": {
				Context: "empty-test", Args: merge(syntax, map[string]string{"image": e.TestImage}), Contexts: map[string]string{"report": "report-full"},
				Output: []string{"type=image,name=" + tags["test"] + ",push=true"},
			},
			"demo": {
				Context: "empty-demo", Args: merge(syntax, map[string]string{"image": demo}), Contexts: map[string]string{"report": "report-half"},
				Output: []string{"type=image,name=" + tags["demo"] + ",push=true", "type=oci,dest=demo.tar"},
			},
			"patchfile": {
				Context: "patchfile", Dockerfile: "Patchfile", Args: map[string]string{"TAG": e.imageTag(t)}, Contexts: map[string]string{"report": "report-full"},
				Output: []string{"type=image,name=" + tags["patchfile"] + ",push=true"},
			},
		},
	}
	dt, _ := json.MarshalIndent(bake, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "docker-bake.json"), dt, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker", "buildx", "bake", "--builder", e.buildxBuilder, "--provenance=false", "--progress=plain")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker buildx bake: %v\n%s", err, out)
	}

	e.assertPatchedImage(t, tags["test"])
	e.assertPatchedImage(t, tags["patchfile"])
	orig, patched := fetchImage(t, demo), fetchImage(t, tags["demo"])
	assertOneLayerAdded(t, orig, patched)
	assertPackages(t, orig, patched, half)
	assertOCITarball(t, filepath.Join(dir, "demo.tar"), "")
}

// buildx's default provenance makes the pushed result an index holding the
// patched image and its attestation manifest.
func TestProvenance(t *testing.T) {
	e := newEntryBed(t)
	tag := e.tag("provenance")
	run(t, nil, "docker", "buildx", "build", "--builder", e.buildxBuilder, "--progress=plain", "--build-context", "report="+e.reportDir,
		"--build-arg", "BUILDKIT_SYNTAX="+e.frontendImage, "--build-arg", "image="+e.TestImage,
		"--output", "type=image,name="+tag+",push=true", t.TempDir())
	idx := fetchIndex(t, tag)
	var image, attestation string
	for _, m := range idx.Manifests {
		switch {
		case m.Annotations["vnd.docker.reference.type"] == "attestation-manifest":
			attestation = m.Digest.String()
		case m.Platform != nil && m.Platform.OS == "linux":
			image = m.Digest.String()
		}
	}
	if image == "" || attestation == "" {
		t.Fatalf("index lacks the image or its attestation: %+v", idx.Manifests)
	}
	named, _ := reference.ParseNormalizedNamed(tag)
	byDigest := named.Name() + "@" + image
	orig, patched := fetchImage(t, e.TestImage), fetchImage(t, byDigest)
	assertOneLayerAdded(t, orig, patched)
	assertConfigPreserved(t, orig, patched)
	assertPackages(t, orig, patched, e.cands)
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// copyDir copies the regular files of src into a new directory dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		dt, err := os.ReadFile(filepath.Join(src, en.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, en.Name()), dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
