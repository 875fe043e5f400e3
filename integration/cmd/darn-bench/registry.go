package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// The manifest media types the bench reads: a single image, or an index
// of images (of which it reads one platform).
const (
	manifestAccept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
	indexAccept    = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json"
)

// regImage is one platform's image as the bed's registry serves it, over
// plain HTTP on loopback, as integration/registry_test.go reads images.
type regImage struct {
	repoURL  string
	Manifest ocispecs.Manifest
}

// fetchImage reads an image's manifest; for an index, the platform's.
func fetchImage(ctx context.Context, ref, platform string) (regImage, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return regImage{}, err
	}
	img := regImage{repoURL: fmt.Sprintf("http://%s/v2/%s", reference.Domain(named), reference.Path(named))}
	tag := "latest"
	if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		tag = d.Digest().String()
	}
	body, mediaType, err := img.get(ctx, "/manifests/"+tag, manifestAccept+", "+indexAccept)
	if err != nil {
		return img, err
	}
	if mediaType == ocispecs.MediaTypeImageIndex || mediaType == "application/vnd.docker.distribution.manifest.list.v2+json" {
		if body, err = img.platformManifest(ctx, body, platform); err != nil {
			return img, fmt.Errorf("reading %s: %w", ref, err)
		}
	}
	if err := json.Unmarshal(body, &img.Manifest); err != nil {
		return img, fmt.Errorf("parsing the manifest of %s: %w", ref, err)
	}
	return img, nil
}

// platformManifest reads the manifest an index lists for a platform.
func (img regImage) platformManifest(ctx context.Context, index []byte, platform string) ([]byte, error) {
	var idx ocispecs.Index
	if err := json.Unmarshal(index, &idx); err != nil {
		return nil, err
	}
	want, err := platforms.Parse(platform)
	if err != nil {
		return nil, err
	}
	m := platforms.OnlyStrict(want)
	for _, d := range idx.Manifests {
		if d.Platform != nil && m.Match(*d.Platform) {
			body, _, err := img.get(ctx, "/manifests/"+d.Digest.String(), manifestAccept)
			return body, err
		}
	}
	return nil, fmt.Errorf("the index has no %s image", platform)
}

// blob downloads one blob of the image's repository.
func (img regImage) blob(ctx context.Context, d ocispecs.Descriptor) ([]byte, error) {
	body, _, err := img.get(ctx, "/blobs/"+d.Digest.String(), "")
	return body, err
}

func (img regImage) get(ctx context.Context, path, accept string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, img.repoURL+path, nil)
	if err != nil {
		return nil, "", err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	return body, resp.Header.Get("Content-Type"), nil
}
