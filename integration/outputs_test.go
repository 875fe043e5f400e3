package integration

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// pluginModes are the two ways docker-patch runs darn; both must give the
// same results.
func pluginModes(e entryBed) map[string][]string {
	return map[string][]string{
		"in-process": nil,
		"frontend":   {"--frontend", e.frontendImage},
	}
}

// docker-patch exports through every BuildKit exporter form, in both of
// its frontend modes.
func TestPluginOutputs(t *testing.T) {
	e := newEntryBed(t)
	report := filepath.Join(e.reportDir, "report.json")
	for mode, extra := range pluginModes(e) {
		t.Run(mode, func(t *testing.T) {
			patch := func(args ...string) string {
				all := append([]string{"patch", "image", e.TestImage, "--report", report, "--progress", "plain"}, extra...)
				return runPlugin(t, e.bed, 0, append(all, args...)...)
			}
			tag := e.tag("out-" + mode)
			out := patch("--tag", tag, "--output", "type=image,push=true")
			if !strings.Contains(out, "using builder") {
				t.Errorf("plain progress must say which builder was used:\n%s", out)
			}
			e.assertPatchedImage(t, tag)

			dir := t.TempDir()
			patch("--tag", tag, "--output", "type=oci,dest="+filepath.Join(dir, "oci.tar"))
			assertOCITarball(t, filepath.Join(dir, "oci.tar"), tag)
			patch("--tag", tag, "--output", "type=docker,dest="+filepath.Join(dir, "docker.tar"))
			assertDockerTarball(t, filepath.Join(dir, "docker.tar"), tag)
			patch("--output", "type=local,dest="+filepath.Join(dir, "rootfs"))
			status, err := os.ReadFile(filepath.Join(dir, "rootfs", "var", "lib", "dpkg", "status"))
			if err != nil {
				t.Fatal(err)
			}
			got := installed(t, status)
			for _, c := range e.cands {
				if got[c.Name] != c.Candidate {
					t.Errorf("type=local: %s is %q, want %s", c.Name, got[c.Name], c.Candidate)
				}
			}
		})
	}
}

// tarFiles reads the named members of a tarball.
func tarFiles(t *testing.T, path string, names ...string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		if want[h.Name] {
			out[h.Name], _ = io.ReadAll(tr)
		}
	}
}

// assertOCITarball checks an OCI layout tarball holds one image, named tag
// unless tag is empty.
func assertOCITarball(t *testing.T, path, tag string) {
	t.Helper()
	files := tarFiles(t, path, "index.json", "oci-layout")
	var idx ocispecs.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil || len(files["oci-layout"]) == 0 {
		t.Fatalf("%s is not an OCI layout: %v", path, err)
	}
	if len(idx.Manifests) != 1 || tag != "" && !strings.Contains(idx.Manifests[0].Annotations["io.containerd.image.name"], tag[strings.LastIndex(tag, "/")+1:]) {
		t.Errorf("OCI index does not name %s: %+v", tag, idx.Manifests)
	}
}

// assertDockerTarball checks a `docker save`-format tarball tags the image.
func assertDockerTarball(t *testing.T, path, tag string) {
	t.Helper()
	var manifest []struct{ RepoTags []string }
	if err := json.Unmarshal(tarFiles(t, path, "manifest.json")["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("%s is not a docker image tarball: %v", path, err)
	}
	if len(manifest[0].RepoTags) != 1 || !strings.HasSuffix(tag, manifest[0].RepoTags[0][strings.LastIndex(manifest[0].RepoTags[0], "/")+1:]) {
		t.Errorf("docker tarball tags %v, want %s", manifest[0].RepoTags, tag)
	}
}
