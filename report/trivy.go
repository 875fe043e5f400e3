package report

import (
	"bytes"
	"fmt"
	"strings"
)

// trivySchemaVersion is the only object schema Trivy has written; older
// Trivy wrote a bare array of results instead.
const trivySchemaVersion = 2

// trivyOSClass is the result class of OS packages since Trivy 0.17.
const trivyOSClass = "os-pkgs"

// trivyNoOS is the family Trivy writes when it detected no OS.
const trivyNoOS = "none"

// trivyOSFamilies are the Type values of OS results, which legacy reports
// without Class use. It lists Trivy's OS types (fanal/types), including
// older spellings, minus the language-only "activestate".
var trivyOSFamilies = map[string]bool{
	"alma": true, "alpine": true, "amazon": true, "azurelinux": true,
	"bottlerocket": true, "cbl-mariner": true, "centos": true,
	"centos-stream": true, "chainguard": true, "coreos": true,
	"debian": true, "echo": true, "fedora": true, "minimos": true,
	"opensuse": true, "opensuse-leap": true, "opensuse-tumbleweed": true,
	"opensuse.leap": true, "opensuse.tumbleweed": true, "oracle": true,
	"photon": true, "redhat": true, "rocky": true, "slem": true,
	"sle-micro": true, "sles": true, "suse linux enterprise server": true,
	"suse linux enterprise micro": true, "ubuntu": true, "wolfi": true,
}

// trivyReport is the part of Trivy's SchemaVersion 2 document that a patch
// plan needs.
type trivyReport struct {
	SchemaVersion int
	ArtifactName  string
	Metadata      struct {
		OS          *trivyOS
		ImageConfig struct {
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
		}
	}
	Results []trivyResult
}

type trivyOS struct {
	Family string
	Name   string
	EOSL   bool
}

type trivyResult struct {
	Target          string
	Class           string
	Type            string
	Vulnerabilities []trivyVuln
	// Packages is only written with --list-all-pkgs; it is where Trivy
	// records source package names.
	Packages []trivyPackage
}

type trivyVuln struct {
	VulnerabilityID  string
	PkgName          string
	InstalledVersion string
	FixedVersion     string
	Status           string
	Severity         string
}

type trivyPackage struct {
	Name    string
	SrcName string
}

// parseTrivy reads a Trivy report of any schema: SchemaVersion 2, the
// legacy array of results, or a bare null.
func parseTrivy(dt []byte) (Report, error) {
	doc, err := decodeTrivy(dt)
	if err != nil {
		return Report{}, fmt.Errorf("parsing trivy report: %w", err)
	}
	results, other := osResults(doc.Results)
	pkgs, err := trivyPackages(results)
	if err != nil {
		return Report{}, fmt.Errorf("parsing trivy report: %w", err)
	}
	return Report{
		Scanner:       "trivy",
		Artifact:      trivyArtifact(doc.ArtifactName, results),
		OS:            trivyReportOS(doc.Metadata.OS, results),
		Architecture:  doc.Metadata.ImageConfig.Architecture,
		Variant:       doc.Metadata.ImageConfig.Variant,
		Packages:      pkgs,
		OtherFindings: other,
	}, nil
}

// decodeTrivy reads either shape into the SchemaVersion 2 form, so the
// rest of the reader handles one type.
func decodeTrivy(dt []byte) (trivyReport, error) {
	var doc trivyReport
	if trimmed := bytes.TrimSpace(dt); len(trimmed) > 0 && trimmed[0] != '{' {
		return doc, decode(dt, &doc.Results)
	}
	if err := decode(dt, &doc); err != nil {
		return doc, err
	}
	if doc.SchemaVersion != trivySchemaVersion {
		return doc, fmt.Errorf("%w: trivy schema version %d, want %d",
			ErrUnknownFormat, doc.SchemaVersion, trivySchemaVersion)
	}
	return doc, nil
}

// osResults returns the OS results and counts the vulnerability entries
// of the others.
func osResults(results []trivyResult) (osRes []trivyResult, otherVulns int) {
	for _, r := range results {
		if isOSResult(r) {
			osRes = append(osRes, r)
		} else {
			otherVulns += len(r.Vulnerabilities)
		}
	}
	return osRes, otherVulns
}

// isOSResult tells OS results from language ones. Class says so directly;
// legacy reports without it name the OS family in Type or, older still,
// only in the Target suffix.
func isOSResult(r trivyResult) bool {
	if r.Class != "" {
		return r.Class == trivyOSClass
	}
	_, suffixOS, hasSuffix := splitTarget(r.Target)
	if r.Type == "" {
		return hasSuffix
	}
	typ := strings.ToLower(r.Type)
	// A family missing from the list still counts when Type and Target
	// agree, so a newer distro is not silently dropped.
	return trivyOSFamilies[typ] || (hasSuffix && suffixOS.Family == typ)
}

// splitTarget splits an OS result's Target such as
// "alpine:3.7.1 (alpine 3.7.1)" or "amazon-2.tar.gz (amazon 2 (Karoo))"
// into the scanned artifact and the OS. The version may hold parentheses
// itself, so the suffix is found by matching them from the end.
func splitTarget(target string) (prefix string, rel OS, ok bool) {
	t := strings.TrimSpace(target)
	if !strings.HasSuffix(t, ")") {
		return "", OS{}, false
	}
	depth := 0
	for i := len(t) - 1; i >= 0; i-- {
		switch t[i] {
		case ')':
			depth++
		case '(':
			depth--
		}
		if depth == 0 {
			rel, ok = parseOSName(t[i+1 : len(t)-1])
			return strings.TrimSpace(t[:i]), rel, ok
		}
	}
	return "", OS{}, false
}

// parseOSName reads "<family> <version>", as Trivy writes it in Targets.
// It rejects prose such as "(see the README)": a family is an id and a
// release names a number somewhere ("2 (Karoo)", "AMI release 2018.03").
func parseOSName(s string) (OS, bool) {
	family, version, _ := strings.Cut(strings.TrimSpace(s), " ")
	family = strings.ToLower(family)
	version = strings.TrimSpace(version)
	if !strings.ContainsAny(version, "0123456789") || !isFamilyName(family) {
		return OS{}, false
	}
	return OS{Family: family, Version: version}, true
}

func isFamilyName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && !strings.ContainsRune("._-", c) {
			return false
		}
	}
	return true
}

// trivyReportOS prefers Metadata.OS, which only SchemaVersion 2 has, and
// falls back to the OS results' Target suffix, then to their Type.
func trivyReportOS(meta *trivyOS, results []trivyResult) OS {
	if meta != nil && meta.Family != "" && meta.Family != trivyNoOS {
		return OS{
			Family:  strings.ToLower(meta.Family),
			Version: strings.TrimSpace(meta.Name),
			EOSL:    meta.EOSL,
		}
	}
	for _, r := range results {
		if _, rel, ok := splitTarget(r.Target); ok {
			return rel
		}
	}
	for _, r := range results {
		if typ := strings.ToLower(r.Type); trivyOSFamilies[typ] {
			return OS{Family: typ}
		}
	}
	return OS{}
}

// trivyArtifact falls back to the OS Target's prefix because legacy
// reports have no ArtifactName.
func trivyArtifact(name string, results []trivyResult) string {
	if name != "" || len(results) == 0 {
		return name
	}
	if prefix, _, ok := splitTarget(results[0].Target); ok {
		return prefix
	}
	return results[0].Target
}

// trivyPackages merges the vulnerability entries of all OS results into
// one Package per binary package and installed version.
func trivyPackages(results []trivyResult) ([]Package, error) {
	src := sourceNames(results)
	byKey := map[pkgKey]*Package{}
	for _, r := range results {
		for i, v := range r.Vulnerabilities {
			if v.PkgName == "" || v.VulnerabilityID == "" {
				return nil, fmt.Errorf("result %q: vulnerability %d: missing PkgName or VulnerabilityID", r.Target, i)
			}
			k := pkgKey{v.PkgName, v.InstalledVersion}
			p := byKey[k]
			if p == nil {
				p = &Package{Name: v.PkgName, InstalledVersion: v.InstalledVersion, SourceName: src[v.PkgName]}
				byKey[k] = p
			}
			p.Vulnerabilities = append(p.Vulnerabilities, Vulnerability{
				ID:            v.VulnerabilityID,
				FixedVersions: splitFixed(v.FixedVersion),
				Status:        v.Status,
				Severity:      normSeverity(v.Severity),
			})
		}
	}
	return sortPackages(byKey), nil
}

// sourceNames maps binary to source package names from Results[].Packages.
// It keys by name alone: Packages[].Version leaves out the epoch and
// release that an rpm InstalledVersion carries, so name+version would miss.
func sourceNames(results []trivyResult) map[string]string {
	src := map[string]string{}
	for _, r := range results {
		for _, p := range r.Packages {
			if _, seen := src[p.Name]; !seen && p.SrcName != "" {
				src[p.Name] = p.SrcName
			}
		}
	}
	return src
}

// splitFixed splits Trivy's FixedVersion, which lists one fix per release
// branch separated by commas (e.g. "1.1.1k-r0, 1.1.1l-r0").
func splitFixed(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
