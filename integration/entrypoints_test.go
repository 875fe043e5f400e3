package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distribution/reference"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/integration/testreport"
)

// entryBed is the test bed plus what the BuildKit entry points need: the
// pushed frontend image, buildctl and a buildx builder on the bed's daemon.
type entryBed struct {
	bed
	frontendImage string
	buildctl      string
	buildxBuilder string
	reportDir     string
	cands         []testreport.Candidate
	rel           distros.Release
}

func newEntryBed(t *testing.T) entryBed {
	t.Helper()
	b := testBed(t)
	e := entryBed{bed: b, frontendImage: os.Getenv("DARN_FRONTEND_IMAGE"), buildctl: os.Getenv("DARN_BUILDCTL"), buildxBuilder: os.Getenv("DARN_BUILDX_BUILDER")}
	if e.frontendImage == "" || e.buildctl == "" || e.buildxBuilder == "" {
		t.Fatal("the test bed lacks DARN_FRONTEND_IMAGE, DARN_BUILDCTL or DARN_BUILDX_BUILDER: run `make test-integration`")
	}
	cands, rel, err := testreport.Upgradable(t.Context(), b.client(t), b.TestImage)
	if err != nil {
		t.Fatal(err)
	}
	e.cands, e.rel = cands, rel
	e.reportDir = writeReport(t, b.TestImage, rel, cands)
	return e
}

// run runs a command, failing the test with its output on error.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (e entryBed) tag(name string) string {
	return fmt.Sprintf("%s/darn-test/entry:%s-%d", e.Registry, name, time.Now().UnixNano())
}

// patchfile writes a Patchfile naming the test image's repository with its
// tag in an ARG, whose default the build must override.
func (e entryBed) patchfile(t *testing.T) string {
	t.Helper()
	repo, _ := e.repoAndTag(t)
	dir := t.TempDir()
	body := fmt.Sprintf("# syntax=%s\nARG TAG=no-such-tag\nFROM %s:${TAG}\n", e.frontendImage, repo)
	if err := os.WriteFile(filepath.Join(dir, "Patchfile"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// repoAndTag splits the test image reference.
func (e entryBed) repoAndTag(t *testing.T) (string, string) {
	t.Helper()
	named, err := reference.ParseNormalizedNamed(e.TestImage)
	if err != nil {
		t.Fatal(err)
	}
	tagged, ok := named.(reference.Tagged)
	if !ok {
		t.Fatalf("test image %s has no tag", e.TestImage)
	}
	return named.Name(), tagged.Tag()
}

func (e entryBed) imageTag(t *testing.T) string {
	t.Helper()
	_, tag := e.repoAndTag(t)
	return tag
}

// assertPatchedImage checks a pushed image the way every entry point must
// produce it.
func (e entryBed) assertPatchedImage(t *testing.T, tag string) {
	t.Helper()
	orig, patched := fetchImage(t, e.TestImage), fetchImage(t, tag)
	assertOneLayerAdded(t, orig, patched)
	assertConfigPreserved(t, orig, patched)
	assertLayerClean(t, patched)
	assertPackages(t, orig, patched, e.cands)
}

// Every BuildKit entry point patches the same way through the pushed
// frontend image.
func TestEntryPoints(t *testing.T) {
	e := newEntryBed(t)
	bk := []string{"--addr", e.BuildkitHost}
	report := []string{"--local", "report=" + e.reportDir, "--opt", "context:report=local:report"}
	buildx := []string{"buildx", "build", "--builder", e.buildxBuilder, "--provenance=false", "--progress=plain", "--build-context", "report=" + e.reportDir}

	t.Run("buildctl gateway.v0", func(t *testing.T) {
		tag := e.tag("gateway")
		args := append(append(append([]string{}, bk...), "build", "--frontend", "gateway.v0", "--opt", "source="+e.frontendImage, "--opt", "image="+e.TestImage), report...)
		run(t, nil, e.buildctl, append(args, "--output", "type=image,name="+tag+",push=true")...)
		e.assertPatchedImage(t, tag)
	})
	t.Run("buildctl dockerfile.v0 Patchfile", func(t *testing.T) {
		tag, dir := e.tag("patchfile-buildctl"), e.patchfile(t)
		args := append(append(append([]string{}, bk...), "build", "--frontend", "dockerfile.v0", "--local", "dockerfile="+dir, "--opt", "filename=Patchfile", "--opt", "build-arg:TAG="+e.imageTag(t)), report...)
		run(t, nil, e.buildctl, append(args, "--output", "type=image,name="+tag+",push=true")...)
		e.assertPatchedImage(t, tag)
	})
	t.Run("buildx build -f Patchfile", func(t *testing.T) {
		tag, dir := e.tag("patchfile-buildx"), e.patchfile(t)
		run(t, nil, "docker", append(buildx, "-f", filepath.Join(dir, "Patchfile"), "--build-arg", "TAG="+e.imageTag(t), "--output", "type=image,name="+tag+",push=true", dir)...)
		e.assertPatchedImage(t, tag)
	})
	t.Run("buildx build BUILDKIT_SYNTAX", func(t *testing.T) {
		tag, dir := e.tag("syntax-arg"), t.TempDir()
		run(t, nil, "docker", append(buildx, "--build-arg", "BUILDKIT_SYNTAX="+e.frontendImage, "--build-arg", "image="+e.TestImage, "--output", "type=image,name="+tag+",push=true", dir)...)
		e.assertPatchedImage(t, tag)
	})
}

// Subrequests answer through buildx: outline lists darn's options, check
// validates the inputs, and darn's own plan prints the update plan as JSON
// without building.
func TestSubrequests(t *testing.T) {
	e := newEntryBed(t)
	base := []string{
		"buildx", "build", "--builder", e.buildxBuilder, "--build-context", "report=" + e.reportDir,
		"--build-arg", "BUILDKIT_SYNTAX=" + e.frontendImage, "--build-arg", "image=" + e.TestImage,
	}
	dir := t.TempDir()
	if out := run(t, nil, "docker", append(base, "--call", "outline", dir)...); !strings.Contains(out, "image") || !strings.Contains(out, "report") {
		t.Errorf("--call outline does not list darn's options:\n%s", out)
	}
	if out := run(t, nil, "docker", append(base, "--check", dir)...); !strings.Contains(out, "Check complete") {
		t.Errorf("--check:\n%s", out)
	}
	out := run(t, nil, "docker", append(base, "--call", "plan,format=json", dir)...)
	for _, c := range e.cands {
		if !strings.Contains(out, `"name": "`+c.Name+`"`) || !strings.Contains(out, `"fixed": "`+c.Candidate+`"`) {
			t.Errorf("--call plan lacks %s >= %s:\n%s", c.Name, c.Candidate, out)
		}
	}
	if !strings.Contains(out, `"action": "upgrade"`) {
		t.Errorf("--call plan has no upgrade:\n%s", out)
	}
}
