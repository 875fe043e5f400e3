package integration

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/integration/testreport"
	"github.com/darn-dev/darn/vex"
)

// multiBed is the test bed's two-platform index (linux/amd64, linux/arm64)
// and the security updates its sources offer, listed on amd64 (the arm64
// rootfs is debootstrapped from the same suite, so the versions agree and
// no emulated apt run is needed to write its report).
type multiBed struct {
	bed
	image     string
	digest    string
	platforms []string
	cands     []testreport.Candidate
	rel       distros.Release
}

func newMultiBed(t *testing.T) multiBed {
	t.Helper()
	m := multiBed{bed: testBed(t), image: os.Getenv("DARN_MULTI_IMAGE"), digest: os.Getenv("DARN_MULTI_IMAGE_DIGEST")}
	if m.image == "" || m.digest == "" {
		t.Fatal("the test bed lacks DARN_MULTI_IMAGE(_DIGEST): run `make test-integration`")
	}
	m.platforms = strings.Split(os.Getenv("DARN_MULTI_PLATFORMS"), ",")
	var err error
	m.cands, m.rel, err = testreport.Upgradable(t.Context(), m.client(t), m.image)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.cands) == 0 {
		t.Fatal("the multi-platform image has no pending security update to patch")
	}
	return m
}

// reports writes one report per architecture, in that order, into a new
// directory, under names that say nothing of the architecture: darn must
// match them by the architecture the report records.
func (m multiBed) reports(t *testing.T, archs ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i, arch := range archs {
		dt, err := testreport.TrivyJSONForArch(m.image, arch, m.rel, m.cands)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("scan-%d.json", i)), dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// repo is a new repository for one test's output.
func (m multiBed) repo(name string) string {
	return fmt.Sprintf("%s/darn-test/%s-%d", m.Registry, name, time.Now().UnixNano())
}

// original returns the source index's image for a platform.
func (m multiBed) original(t *testing.T, platform string) registryImage {
	t.Helper()
	idx, _ := fetchIndexDigest(t, m.image)
	byPlatform, _ := imageManifests(idx)
	d, ok := byPlatform[platform]
	if !ok {
		t.Fatalf("%s has no %s", m.image, platform)
	}
	return fetchImage(t, repoOf(t, m.image)+"@"+d.Digest.String())
}

// Every platform of an index is patched by default, each with its own
// report (matched by architecture), concurrently; the index is pushed
// under the one tag asked for, each platform's config keeps its own
// architecture, and each image is its original layers plus one, with the
// fixed versions in its own dpkg database. The OpenVEX document rides
// along as an attestation of each platform's manifest.
func TestMultiPlatformPatchesEveryPlatform(t *testing.T) {
	m := newMultiBed(t)
	repo := m.repo("multi")
	tag := repo + ":patched"
	vexFile := filepath.Join(t.TempDir(), "vex.json")
	out := runPlugin(t, m.bed, 0, "patch", "image", m.image, "--report", m.reports(t, "arm64", "amd64"),
		"--tag", tag, "--push", "--vex", vexFile, "--progress", "plain")
	for _, p := range m.platforms {
		if !strings.Contains(out, p) {
			t.Errorf("the summary does not name %s:\n%s", p, out)
		}
	}
	idx, idxDigest := fetchIndexDigest(t, tag)
	byPlatform, order := imageManifests(idx)
	_, origOrder := imageManifests(fetchIndex(t, m.image))
	if !slices.Equal(order, origOrder) {
		t.Fatalf("patched index has %v, want the source's %v", order, origOrder)
	}
	for _, p := range order {
		t.Run(strings.ReplaceAll(p, "/", "-"), func(t *testing.T) {
			orig := m.original(t, p)
			patched := fetchImage(t, repo+"@"+byPlatform[p].Digest.String())
			if !reflect.DeepEqual(byPlatform[p].Platform, fetchPlatform(t, m.image, p)) {
				t.Errorf("index platform %+v, want the source's", byPlatform[p].Platform)
			}
			assertOneLayerAdded(t, orig, patched)
			assertConfigPreserved(t, orig, patched)
			assertLineage(t, m.asIndex(orig), patched, installedCands(t, orig, m.cands))
			assertLayerClean(t, patched)
			assertPackages(t, orig, patched, installedCands(t, orig, m.cands))
			assertVEXAttestation(t, repo, idx, byPlatform[p].Digest)
		})
	}
	if tags := repoTags(t, repo); !slices.Equal(tags, []string{"patched"}) {
		t.Errorf("repository tags %v: want only the one asked for, no per-platform tag", tags)
	}
	doc, err := openvex.Open(vexFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Statements) == 0 || !strings.Contains(doc.Statements[0].Products[0].ID, "@"+idxDigest) {
		t.Errorf("the VEX document does not name the pushed index %s: %+v", idxDigest, doc.Statements)
	}
}

// --platform patches only the platforms it names; the index's others are
// written unchanged, by digest. The output is an OCI layout tarball.
func TestMultiPlatformSubsetToOCILayout(t *testing.T) {
	m := newMultiBed(t)
	dir := t.TempDir()
	tarball := filepath.Join(dir, "multi.tar")
	// One report file, for amd64 only: arm64 needs none, since it is kept.
	report := filepath.Join(m.reports(t, "amd64"), "scan-0.json")
	runPlugin(t, m.bed, 0, "patch", "image", m.image, "--platform", "linux/amd64", "--report", report,
		"--tag", m.repo("subset")+":patched", "--output", "type=oci,dest="+tarball, "--progress", "quiet")

	layout := readOCILayout(t, tarball)
	patched, order := imageManifests(layout.index(t))
	srcIdx, _ := fetchIndexDigest(t, m.image)
	src, srcOrder := imageManifests(srcIdx)
	if !slices.Equal(order, srcOrder) {
		t.Fatalf("OCI layout has %v, want %v", order, srcOrder)
	}
	if got, want := patched["linux/arm64"].Digest, src["linux/arm64"].Digest; got != want {
		t.Errorf("linux/arm64 was to be kept by digest: %s, want %s", got, want)
	}
	if patched["linux/amd64"].Digest == src["linux/amd64"].Digest {
		t.Error("linux/amd64 was not patched")
	}
	var mf ocispecs.Manifest
	layout.unmarshal(t, patched["linux/amd64"].Digest, &mf)
	orig := m.original(t, "linux/amd64")
	if len(mf.Layers) != len(orig.Manifest.Layers)+1 || mf.Layers[0].Digest != orig.Manifest.Layers[0].Digest {
		t.Errorf("linux/amd64 in the layout: %d layers, want the original %d + 1", len(mf.Layers), len(orig.Manifest.Layers))
	}
	var cfg ocispecs.Image
	layout.unmarshal(t, mf.Config.Digest, &cfg)
	if cfg.Architecture != "amd64" {
		t.Errorf("linux/amd64's config says %s", cfg.Architecture)
	}
}

// A docker tarball (like --load) holds one platform: the patched platform
// of the index is exported alone, as a single image.
func TestMultiPlatformOneToDockerTarball(t *testing.T) {
	m := newMultiBed(t)
	tarball := filepath.Join(t.TempDir(), "docker.tar")
	tag := m.repo("docker") + ":patched"
	report := filepath.Join(m.reports(t, "amd64"), "scan-0.json")
	runPlugin(t, m.bed, 0, "patch", "image", m.image, "--platform", "linux/amd64", "--report", report,
		"--tag", tag, "--output", "type=docker,dest="+tarball, "--progress", "quiet")
	assertDockerTarball(t, tarball, tag)
	var manifest []struct{ Config string }
	if err := json.Unmarshal(tarFiles(t, tarball, "manifest.json")["manifest.json"], &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json: %v", err)
	}
	var cfg ocispecs.Image
	if err := json.Unmarshal(tarFiles(t, tarball, manifest[0].Config)[manifest[0].Config], &cfg); err != nil || cfg.Architecture != "amd64" {
		t.Errorf("the tarball's image is %+v (%v), want the patched linux/amd64", cfg.Platform, err)
	}
}

// When one platform fails, nothing is pushed: not the index, not the
// platforms that succeeded, not a temporary tag.
func TestMultiPlatformFailurePushesNothing(t *testing.T) {
	m := newMultiBed(t)
	bad := slices.Clone(m.cands)
	// A fixed version no mirror has: amd64's upgrade cannot reach it.
	bad[0].Candidate = "99:" + bad[0].Candidate
	dir := t.TempDir()
	for arch, cands := range map[string][]testreport.Candidate{"amd64": bad, "arm64": m.cands} {
		dt, err := testreport.TrivyJSONForArch(m.image, arch, m.rel, cands)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, arch+".json"), dt, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repo := m.repo("multi-fail")
	out := runPlugin(t, m.bed, 1, "patch", "image", m.image, "--report", dir, "--tag", repo+":patched", "--push", "--progress", "plain")
	if !strings.Contains(out, bad[0].Name) {
		t.Errorf("the error does not name %s:\n%s", bad[0].Name, out)
	}
	if tags := repoTags(t, repo); len(tags) != 0 {
		t.Errorf("a failed patch pushed tags %v", tags)
	}
}

// assertVEXAttestation checks the index carries an in-toto attestation of
// the image manifest dgst whose predicate is a valid OpenVEX document
// stating fixes.
func assertVEXAttestation(t *testing.T, repo string, idx ocispecs.Index, dgst digest.Digest) {
	t.Helper()
	for _, st := range attestationOf(t, repo, idx, dgst) {
		if st.PredicateType != vex.PredicateType {
			continue
		}
		if len(st.Subject) == 0 || "sha256:"+st.Subject[0].Digest["sha256"] != dgst.String() {
			t.Errorf("VEX attestation subject %+v, want the image manifest %s", st.Subject, dgst)
		}
		doc, err := openvex.Parse(st.Predicate)
		if err != nil {
			t.Fatal(err)
		}
		if len(doc.Statements) == 0 {
			t.Error("the VEX attestation states nothing")
		}
		for i := range doc.Statements {
			s := &doc.Statements[i]
			if err := s.Validate(); err != nil || s.Status != openvex.StatusFixed {
				t.Errorf("statement %s: %s %v", s.Vulnerability.Name, s.Status, err)
			}
		}
		return
	}
	t.Errorf("no OpenVEX attestation for %s", dgst)
}

// installedCands keeps the candidates installed in orig (an arm64 minbase
// may lack a package the amd64 one has).
func installedCands(t *testing.T, orig registryImage, cands []testreport.Candidate) []testreport.Candidate {
	t.Helper()
	have := installed(t, orig.fileFromLayers(t, "var/lib/dpkg/status"))
	var out []testreport.Candidate
	for _, c := range cands {
		if have[c.Name] == c.Installed {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has none of the pending updates", orig.Ref)
	}
	return out
}

// fetchPlatform returns the platform the source index records for p.
func fetchPlatform(t *testing.T, ref, p string) *ocispecs.Platform {
	t.Helper()
	byPlatform, _ := imageManifests(fetchIndex(t, ref))
	return byPlatform[p].Platform
}

// ociLayout is an OCI layout tarball's files.
type ociLayout map[string][]byte

func readOCILayout(t *testing.T, path string) ociLayout {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := ociLayout{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Typeflag == tar.TypeReg && (strings.HasSuffix(h.Name, ".json") || strings.HasPrefix(h.Name, "blobs/")) && h.Size < 1<<20 {
			dt, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("reading %s: %v", path, err)
			}
			out[h.Name] = dt
		}
	}
	return out
}

// index returns the image index the layout's index.json points at.
func (l ociLayout) index(t *testing.T) ocispecs.Index {
	t.Helper()
	var top ocispecs.Index
	if err := json.Unmarshal(l["index.json"], &top); err != nil || len(top.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, l["index.json"])
	}
	if top.Manifests[0].MediaType != ocispecs.MediaTypeImageIndex {
		t.Fatalf("the layout holds a %s, want an image index", top.Manifests[0].MediaType)
	}
	var idx ocispecs.Index
	l.unmarshal(t, top.Manifests[0].Digest, &idx)
	return idx
}

// unmarshal decodes a blob of the layout.
func (l ociLayout) unmarshal(t *testing.T, d digest.Digest, v any) {
	t.Helper()
	dt, ok := l["blobs/"+d.Algorithm().String()+"/"+d.Encoded()]
	if !ok {
		t.Fatalf("the layout has no blob %s", d)
	}
	if err := json.Unmarshal(dt, v); err != nil {
		t.Fatalf("blob %s: %v", d, err)
	}
}

// Each platform of an index carries its own lineage: re-patching the
// index's amd64 image starts again from the source index's amd64 image,
// and the kept arm64 image stays the source's.
func TestMultiPlatformRepatch(t *testing.T) {
	m := newMultiBed(t)
	half := halfBySource(m.cands)
	if len(half) == len(m.cands) {
		t.Skip("need pending fixes from two source packages")
	}
	report := func(cands []testreport.Candidate) string {
		dt, err := testreport.TrivyJSONForArch(m.image, "amd64", m.rel, cands)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "amd64.json")
		if err := os.WriteFile(f, dt, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	repo := m.repo("multi-repatch")
	runPlugin(t, m.bed, 0, "patch", "image", m.image, "--platform", "linux/amd64", "--report", report(half),
		"--tag", repo+":first", "--push", "--progress", "quiet")
	out := runPlugin(t, m.bed, 0, "patch", "image", repo+":first", "--platform", "linux/amd64", "--report", report(m.cands),
		"--tag", repo+":second", "--push", "--progress", "plain")
	if !strings.Contains(out, "patched again from the original") {
		t.Errorf("the plugin does not say the patch started from the original:\n%s", out)
	}
	byPlatform, _ := imageManifests(fetchIndex(t, repo+":second"))
	src, _ := imageManifests(fetchIndex(t, m.image))
	if byPlatform["linux/arm64"].Digest != src["linux/arm64"].Digest {
		t.Errorf("linux/arm64 was to be kept by digest: %s, want %s", byPlatform["linux/arm64"].Digest, src["linux/arm64"].Digest)
	}
	orig := m.original(t, "linux/amd64")
	patched := fetchImage(t, repo+"@"+byPlatform["linux/amd64"].Digest.String())
	assertOneLayerAdded(t, orig, patched)
	assertLineage(t, m.asIndex(orig), patched, installedCands(t, orig, m.cands))
	assertPackages(t, orig, patched, installedCands(t, orig, m.cands))
}

// asIndex is a platform's image as the lineage names it: by the digest
// the image's name resolved to, the index's (the platform picks the
// manifest in it).
func (m multiBed) asIndex(img registryImage) registryImage {
	img.Digest = m.digest
	return img
}
