package testreport

import (
	"encoding/json"
	"fmt"

	"github.com/darn-dev/darn/distros"
)

// Fix is one fixed vulnerability of an installed rpm, for the RPM world
// of the test bed (integration/testbed/rpm.sh).
type Fix struct {
	Name, Installed, Fixed, ID string
}

// TrivyRPM writes fixes as a Trivy SchemaVersion 2 report of an RPM image,
// in the shape Trivy writes for its release: the os-pkgs result's Type is
// the os-release ID, purls are pkg:rpm.
func TrivyRPM(image string, rel distros.Release, fixes []Fix) ([]byte, error) {
	res := trivyResult{Target: fmt.Sprintf("%s (%s %s)", image, rel.ID, rel.VersionID), Class: "os-pkgs", Type: rel.ID, Vulnerabilities: []trivyVuln{}}
	for _, f := range fixes {
		v := trivyVuln{
			VulnerabilityID: f.ID, PkgName: f.Name, InstalledVersion: f.Installed, FixedVersion: f.Fixed,
			Status: "fixed", SeveritySource: rel.ID, Severity: "HIGH",
		}
		v.PkgIdentifier.PURL = fmt.Sprintf("pkg:rpm/%s/%s@%s?distro=%s-%s", rel.ID, f.Name, f.Installed, rel.ID, rel.VersionID)
		res.Vulnerabilities = append(res.Vulnerabilities, v)
	}
	return json.MarshalIndent(trivyReport{
		SchemaVersion: 2, ArtifactName: image, ArtifactType: "container_image",
		Metadata: trivyMetadata{OS: trivyOS{Family: rel.ID, Name: rel.VersionID}},
		Results:  []trivyResult{res},
	}, "", "  ")
}

// GrypeRPM writes fixes as Grype's `-o json` report of an RPM image: rpm
// artifacts, epochs in the artifact metadata and left out of the fixed
// versions, as Grype writes them.
func GrypeRPM(image string, rel distros.Release, fixes []Fix) ([]byte, error) {
	return grypeReport(image, rel, "rpm", fixes)
}

// GrypeAPK writes fixes as Grype's `-o json` report of one platform of an
// apk image (the distro Grype names it by, apk artifacts, the image's
// architecture in source.target as Grype records it).
func GrypeAPK(image, arch string, rel distros.Release, fixes []Fix) ([]byte, error) {
	dt, err := grypeReport(image, rel, "apk", fixes)
	if err != nil || arch == "" {
		return dt, err
	}
	var doc map[string]any
	if err := json.Unmarshal(dt, &doc); err != nil {
		return nil, err
	}
	doc["source"].(map[string]any)["target"].(map[string]any)["architecture"] = arch
	return json.MarshalIndent(doc, "", "  ")
}

// grypeReport writes a Grype report of artifacts of type typ; an rpm
// version's epoch goes to the artifact's metadata.
func grypeReport(image string, rel distros.Release, typ string, fixes []Fix) ([]byte, error) {
	type artifact struct {
		Name     string          `json:"name"`
		Version  string          `json:"version"`
		Type     string          `json:"type"`
		Metadata json.RawMessage `json:"metadata"`
	}
	type match struct {
		Vulnerability struct {
			ID  string `json:"id"`
			Fix struct {
				Versions []string `json:"versions"`
				State    string   `json:"state"`
			} `json:"fix"`
		} `json:"vulnerability"`
		Artifact artifact `json:"artifact"`
	}
	doc := struct {
		Matches []match `json:"matches"`
		Source  struct {
			Type   string `json:"type"`
			Target any    `json:"target"`
		} `json:"source"`
		Distro struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"distro"`
	}{}
	doc.Source.Type, doc.Source.Target = "image", map[string]string{"userInput": image}
	doc.Distro.Name, doc.Distro.Version = rel.ID, rel.VersionID
	for _, f := range fixes {
		var m match
		m.Vulnerability.ID = f.ID
		m.Vulnerability.Fix.State = "fixed"
		epoch, fixed := splitEpoch(f.Fixed)
		m.Vulnerability.Fix.Versions = []string{fixed}
		meta := []byte(`{}`)
		if epoch != "" {
			meta = []byte(`{"epoch":` + epoch + `}`)
		}
		m.Artifact = artifact{Name: f.Name, Version: f.Installed, Type: typ, Metadata: meta}
		doc.Matches = append(doc.Matches, m)
	}
	return json.MarshalIndent(doc, "", "  ")
}

// splitEpoch splits "1:2.0-2" into "1" and "2.0-2".
func splitEpoch(v string) (string, string) {
	for i := 0; i < len(v); i++ {
		if v[i] == ':' {
			return v[:i], v[i+1:]
		}
		if v[i] < '0' || v[i] > '9' {
			break
		}
	}
	return "", v
}
