package report

import "testing"

// TestParseFindings checks that reports without OS findings parse, and
// that Findings and OtherFindings tell a clean report from one whose
// vulnerabilities are all outside OS packages.
func TestParseFindings(t *testing.T) {
	const (
		debResult  = `{"Target": "x (debian 12.5)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "a"}, {"VulnerabilityID": "CVE-1", "PkgName": "a"}, {"VulnerabilityID": "CVE-2", "PkgName": "a"}]}`
		npmResult  = `{"Target": "package-lock.json", "Class": "lang-pkgs", "Type": "npm", "Vulnerabilities": [{"VulnerabilityID": "CVE-3", "PkgName": "b"}, {"VulnerabilityID": "CVE-3", "PkgName": "b"}]}`
		debMatch   = `{"vulnerability": {"id": "CVE-1"}, "artifact": {"name": "a", "type": "deb"}}`
		jarMatch   = `{"vulnerability": {"id": "CVE-3"}, "artifact": {"name": "b", "type": "java-archive"}}`
		noVulnsRes = `{"Target": "x (debian 12.5)", "Class": "os-pkgs", "Type": "debian"}`
	)
	tests := []struct {
		name            string
		in              string
		findings, other int
	}{
		{"trivy null", "null", 0, 0},
		{"trivy empty array", "[]", 0, 0},
		{"trivy null results", `{"SchemaVersion": 2, "Results": null}`, 0, 0},
		{"trivy empty results", `{"SchemaVersion": 2, "Results": []}`, 0, 0},
		{"trivy result without vulnerabilities", `{"SchemaVersion": 2, "Results": [` + noVulnsRes + `]}`, 0, 0},
		{"trivy language findings only", `{"SchemaVersion": 2, "Results": [` + npmResult + `]}`, 0, 2},
		{"trivy legacy language findings only", `[` + npmResult + `]`, 0, 2},
		{"trivy both", `{"SchemaVersion": 2, "Results": [` + debResult + `, ` + npmResult + `]}`, 2, 2},
		{"grype null matches", `{"matches": null}`, 0, 0},
		{"grype no matches", `{"matches": []}`, 0, 0},
		{"grype language findings only", `{"matches": [` + jarMatch + `, ` + jarMatch + `]}`, 0, 2},
		{"grype both", `{"matches": [` + debMatch + `, ` + debMatch + `, ` + jarMatch + `]}`, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if r.Findings() != tc.findings || r.OtherFindings != tc.other {
				t.Errorf("Findings, OtherFindings = %d, %d; want %d, %d", r.Findings(), r.OtherFindings, tc.findings, tc.other)
			}
		})
	}
}
