package integration

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Annotations BuildKit puts on an attestation manifest in an index.
const (
	annotationRefType   = "vnd.docker.reference.type"
	annotationRefDigest = "vnd.docker.reference.digest"
	attestationManifest = "attestation-manifest"
)

// inTotoStatement is the part of an in-toto statement the tests read.
type inTotoStatement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate json.RawMessage `json:"predicate"`
}

// fetchIndexDigest reads an index and the digest the registry serves it by.
func fetchIndexDigest(t *testing.T, ref string) (ocispecs.Index, string) {
	t.Helper()
	url, tag := repoURL(t, ref)
	req, _ := http.NewRequest(http.MethodGet, url+"/manifests/"+tag, nil)
	req.Header.Set("Accept", indexAccept)
	body, hdr := do(t, req)
	var idx ocispecs.Index
	if err := json.Unmarshal(body, &idx); err != nil || len(idx.Manifests) == 0 {
		t.Fatalf("%s is not an image index: %v\n%s", ref, err, body)
	}
	return idx, hdr.Get("Docker-Content-Digest")
}

// imageManifests returns an index's image manifests (not attestations),
// by normalized platform, and the platforms in index order.
func imageManifests(idx ocispecs.Index) (map[string]ocispecs.Descriptor, []string) {
	byPlatform := map[string]ocispecs.Descriptor{}
	var order []string
	for _, d := range idx.Manifests {
		if d.Platform == nil || d.Annotations[annotationRefType] != "" {
			continue
		}
		p := platforms.FormatAll(platforms.Normalize(*d.Platform))
		byPlatform[p] = d
		order = append(order, p)
	}
	return byPlatform, order
}

// attestationOf returns the in-toto statements of the attestation manifest
// an index holds for the image manifest dgst.
func attestationOf(t *testing.T, repo string, idx ocispecs.Index, dgst digest.Digest) []inTotoStatement {
	t.Helper()
	for _, d := range idx.Manifests {
		if d.Annotations[annotationRefType] != attestationManifest || d.Annotations[annotationRefDigest] != dgst.String() {
			continue
		}
		m := fetchImage(t, repo+"@"+d.Digest.String())
		var out []inTotoStatement
		for _, l := range m.Manifest.Layers {
			var st inTotoStatement
			if err := json.Unmarshal(m.blob(t, l.Digest.String()), &st); err != nil {
				t.Fatalf("attestation layer %s: %v", l.Digest, err)
			}
			out = append(out, st)
		}
		return out
	}
	return nil
}

// repoTags lists a repository's tags in the test registry; none when the
// registry does not know the repository.
func repoTags(t *testing.T, repo string) []string {
	t.Helper()
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + reference.Domain(named) + "/v2/" + reference.Path(named) + "/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var list struct{ Tags []string }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("tags of %s: %s %v", repo, resp.Status, err)
	}
	return list.Tags
}

// repoOf strips the tag or digest off a reference.
func repoOf(t *testing.T, ref string) string {
	t.Helper()
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(named.Name(), "docker.io/library/")
}
