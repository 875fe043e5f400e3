package integration

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/distribution/reference"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// registryImage is an image read from the test registry over plain HTTP.
type registryImage struct {
	Ref    string
	Digest string
	// IndexDigest is set when Ref names an index (e.g. an image with its
	// attestations): Digest is then the index's linux/amd64 image.
	IndexDigest string
	Manifest    ocispecs.Manifest
	Config      dockerspec.DockerOCIImage
	repoURL     string
}

const (
	manifestAccept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
	indexAccept    = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json"
)

// fetchIndex reads an image index from the registry.
func fetchIndex(t *testing.T, ref string) ocispecs.Index {
	t.Helper()
	idx, _ := fetchIndexDigest(t, ref)
	return idx
}

// repoURL returns the registry API URL of a reference's repository and its
// tag (or digest).
func repoURL(t *testing.T, ref string) (string, string) {
	t.Helper()
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		t.Fatal(err)
	}
	tag := "latest"
	if tg, ok := named.(reference.Tagged); ok {
		tag = tg.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		tag = d.Digest().String()
	}
	return fmt.Sprintf("http://%s/v2/%s", reference.Domain(named), reference.Path(named)), tag
}

// fetchImage reads an image's manifest and config from the registry. For
// an index it reads the linux/amd64 image.
func fetchImage(t *testing.T, ref string) registryImage {
	t.Helper()
	url, tag := repoURL(t, ref)
	img := registryImage{Ref: ref, repoURL: url}
	req, _ := http.NewRequest(http.MethodGet, img.repoURL+"/manifests/"+tag, nil)
	req.Header.Set("Accept", manifestAccept+", "+indexAccept)
	body, hdr := do(t, req)
	img.Digest = hdr.Get("Docker-Content-Digest")
	if isIndex(hdr.Get("Content-Type")) {
		var idx ocispecs.Index
		if err := json.Unmarshal(body, &idx); err != nil {
			t.Fatalf("parsing index of %s: %v", ref, err)
		}
		byPlatform, _ := imageManifests(idx)
		d, ok := byPlatform["linux/amd64"]
		if !ok {
			t.Fatalf("index %s has no linux/amd64 image", ref)
		}
		img.IndexDigest = img.Digest
		req, _ = http.NewRequest(http.MethodGet, img.repoURL+"/manifests/"+d.Digest.String(), nil)
		req.Header.Set("Accept", manifestAccept)
		body, _ = do(t, req)
		img.Digest = d.Digest.String()
	}
	if err := json.Unmarshal(body, &img.Manifest); err != nil {
		t.Fatalf("parsing manifest of %s: %v", ref, err)
	}
	if err := json.Unmarshal(img.blob(t, img.Manifest.Config.Digest.String()), &img.Config); err != nil {
		t.Fatalf("parsing config of %s: %v", ref, err)
	}
	return img
}

// isIndex says whether a manifest media type is an index.
func isIndex(mediaType string) bool {
	return mediaType == ocispecs.MediaTypeImageIndex || mediaType == "application/vnd.docker.distribution.manifest.list.v2+json"
}

// blob downloads one blob of the image's repository.
func (img registryImage) blob(t *testing.T, dgst string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, img.repoURL+"/blobs/"+dgst, nil)
	body, _ := do(t, req)
	return body
}

func do(t *testing.T, req *http.Request) ([]byte, http.Header) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %v %s", req.Method, req.URL, resp.Status, err, body)
	}
	return body, resp.Header
}

// layerEntry is one entry of a layer tarball.
type layerEntry struct {
	Name string
	Type byte
	Data []byte
}

// layerEntries lists a layer's entries; file contents are kept for the
// paths keep selects.
func (img registryImage) layerEntries(t *testing.T, idx int, keep func(string) bool) []layerEntry {
	t.Helper()
	desc := img.Manifest.Layers[idx]
	raw := img.blob(t, desc.Digest.String())
	var r io.Reader = strings.NewReader(string(raw))
	if strings.HasSuffix(desc.MediaType, "gzip") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("layer %d of %s: %v", idx, img.Ref, err)
		}
		r = zr
	}
	var out []layerEntry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("layer %d of %s: %v", idx, img.Ref, err)
		}
		e := layerEntry{Name: strings.TrimPrefix(h.Name, "./"), Type: h.Typeflag}
		if keep(e.Name) {
			e.Data, _ = io.ReadAll(tr)
		}
		out = append(out, e)
	}
}

// fileFromLayers returns a file's content from the topmost layer holding it.
func (img registryImage) fileFromLayers(t *testing.T, path string) []byte {
	t.Helper()
	for i := len(img.Manifest.Layers) - 1; i >= 0; i-- {
		for _, e := range img.layerEntries(t, i, func(n string) bool { return n == path }) {
			if e.Name == path && e.Type == tar.TypeReg {
				return e.Data
			}
		}
	}
	t.Fatalf("%s not found in %s", path, img.Ref)
	return nil
}

// assertNotPushed checks the registry has no manifest for ref.
func assertNotPushed(t *testing.T, ref string) {
	t.Helper()
	u, tag := repoURL(t, ref)
	req, _ := http.NewRequest(http.MethodHead, u+"/manifests/"+tag, nil)
	req.Header.Set("Accept", manifestAccept+", "+indexAccept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("HEAD %s: %v", req.URL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("%s was pushed (HEAD: %s), though the patch failed", ref, resp.Status)
	}
}
