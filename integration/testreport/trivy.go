package testreport

import (
	"encoding/json"
	"fmt"

	"github.com/darn-dev/darn/distros"
)

// Trivy-shaped report types: only the fields darn reads, with Trivy's names.
type (
	trivyReport struct {
		SchemaVersion int
		ArtifactName  string
		ArtifactType  string
		Metadata      trivyMetadata
		Results       []trivyResult
	}
	trivyMetadata struct {
		OS          trivyOS
		ImageConfig *trivyImageConfig `json:",omitempty"`
	}
	trivyImageConfig struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
	}
	trivyOS struct {
		Family string
		Name   string
	}
	trivyResult struct {
		Target          string
		Class           string
		Type            string
		Vulnerabilities []trivyVuln
	}
	trivyVuln struct {
		VulnerabilityID  string
		PkgName          string
		InstalledVersion string
		FixedVersion     string
		Status           string
		PkgIdentifier    struct{ PURL string } `json:",omitempty"`
		SeveritySource   string
		Severity         string
	}
)

// TrivyJSON writes the candidates as a Trivy SchemaVersion 2 report for
// image. Each candidate gets one advisory whose fixed version is the
// security suite's candidate, with an id naming the source package, since
// the real advisory ids are not known without a vulnerability database.
func TrivyJSON(image string, rel distros.Release, cands []Candidate) ([]byte, error) {
	return TrivyJSONForArch(image, "", rel, cands)
}

// TrivyJSONForArch is TrivyJSON for one platform of an image: arch (e.g.
// "arm64") goes where Trivy records the scanned image's architecture,
// Metadata.ImageConfig.architecture; empty leaves it out.
func TrivyJSONForArch(image, arch string, rel distros.Release, cands []Candidate) ([]byte, error) {
	target := fmt.Sprintf("%s (%s %s)", image, rel.ID, rel.VersionID)
	res := trivyResult{Target: target, Class: "os-pkgs", Type: rel.ID, Vulnerabilities: []trivyVuln{}}
	for _, c := range cands {
		v := trivyVuln{
			VulnerabilityID:  "DARN-TEST-" + c.Source + "-" + c.Candidate,
			PkgName:          c.Name,
			InstalledVersion: c.Installed,
			FixedVersion:     c.Candidate,
			Status:           "fixed",
			SeveritySource:   rel.ID,
			Severity:         "HIGH",
		}
		v.PkgIdentifier.PURL = fmt.Sprintf("pkg:deb/%s/%s@%s?distro=%s-%s", rel.ID, c.Name, c.Installed, rel.ID, rel.VersionID)
		res.Vulnerabilities = append(res.Vulnerabilities, v)
	}
	r := trivyReport{
		SchemaVersion: 2,
		ArtifactName:  image,
		ArtifactType:  "container_image",
		Metadata:      trivyMetadata{OS: trivyOS{Family: rel.ID, Name: rel.VersionID}},
		Results:       []trivyResult{res},
	}
	if arch != "" {
		r.Metadata.ImageConfig = &trivyImageConfig{Architecture: arch, OS: "linux"}
	}
	return json.MarshalIndent(r, "", "  ")
}
