package report

import (
	"fmt"
	"strings"
	"testing"
)

// The large synthetic reports are shaped like a scan of a big image with
// every field Trivy and Grype write: many packages, several
// vulnerabilities each, long descriptions and references, which the parser
// must skip over. largePackages × largeVulns entries come to about 30 MB
// (Trivy) and 25 MB (Grype), ten times the largest report of the corpus.
const (
	largePackages = 2_000
	largeVulns    = 10
)

// description is the long text every entry carries.
var description = strings.Repeat("A flaw was found in the handling of crafted input, which may lead to a denial of service. ", 12)

// trivyLarge is a SchemaVersion 2 Trivy report of an image with
// largePackages vulnerable packages of largeVulns vulnerabilities each.
func trivyLarge(tb testing.TB) []byte {
	tb.Helper()
	vulns := make([]map[string]any, 0, largePackages*largeVulns)
	for p := range largePackages {
		for v := range largeVulns {
			vulns = append(vulns, map[string]any{
				"VulnerabilityID": fmt.Sprintf("CVE-2024-%05d", p*largeVulns+v), "PkgName": fmt.Sprintf("pkg%04d", p),
				"PkgIdentifier":    map[string]any{"PURL": fmt.Sprintf("pkg:deb/debian/pkg%04d@1.0-%d?distro=debian-12", p, p)},
				"InstalledVersion": fmt.Sprintf("1.0-%d", p), "FixedVersion": fmt.Sprintf("1.0-%d+deb12u%d", p, v+1),
				"Status": "fixed", "Severity": "HIGH", "SeveritySource": "debian", "Title": "synthetic flaw",
				"Description": description, "References": []string{"https://example.invalid/a", "https://example.invalid/b"},
				"CVSS": map[string]any{"nvd": map[string]any{"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "V3Score": 7.5}},
			})
		}
	}
	return mustMarshal(tb, map[string]any{
		"SchemaVersion": 2, "ArtifactName": "registry.invalid/big:1", "ArtifactType": "container_image",
		"Metadata": map[string]any{"OS": map[string]any{"Family": "debian", "Name": "12.5"}},
		"Results": []map[string]any{{
			"Target": "registry.invalid/big:1 (debian 12.5)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": vulns,
		}},
	})
}

// grypeLarge is the same scan as Grype's `-o json` writes it.
func grypeLarge(tb testing.TB) []byte {
	tb.Helper()
	matches := make([]map[string]any, 0, largePackages*largeVulns)
	for p := range largePackages {
		for v := range largeVulns {
			matches = append(matches, map[string]any{
				"vulnerability": map[string]any{
					"id": fmt.Sprintf("CVE-2024-%05d", p*largeVulns+v), "severity": "High", "description": description,
					"urls": []string{"https://example.invalid/a"},
					"fix":  map[string]any{"versions": []string{fmt.Sprintf("1.0-%d+deb12u%d", p, v+1)}, "state": "fixed"},
				},
				"matchDetails": []map[string]any{{"type": "exact-indirect-match", "matcher": "dpkg-matcher"}},
				"artifact": map[string]any{
					"name": fmt.Sprintf("pkg%04d", p), "version": fmt.Sprintf("1.0-%d", p), "type": "deb",
					"purl": fmt.Sprintf("pkg:deb/debian/pkg%04d@1.0-%d?distro=debian-12", p, p), "metadata": map[string]any{},
				},
			})
		}
	}
	return mustMarshal(tb, map[string]any{
		"matches": matches,
		"source":  map[string]any{"type": "image", "target": map[string]any{"userInput": "registry.invalid/big:1"}},
		"distro":  map[string]any{"name": "debian", "version": "12"},
	})
}

// BenchmarkParseLarge measures Parse on the large synthetic reports.
func BenchmarkParseLarge(b *testing.B) {
	for _, in := range []struct {
		name string
		load func(testing.TB) []byte
	}{
		{"trivy-20k-vulns", trivyLarge},
		{"grype-20k-matches", grypeLarge},
	} {
		b.Run(in.name, func(b *testing.B) {
			dt := in.load(b)
			b.SetBytes(int64(len(dt)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(dt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
