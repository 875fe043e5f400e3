package report

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// grypeScanner is the Scanner name of reports read from Grype.
const grypeScanner = "grype"

// grypeOSTypes are the artifact types of OS packages. Every other type
// (java-archive, python, gem, binary, ...) is a language or file match that
// an OS package update cannot fix.
var grypeOSTypes = map[string]bool{"deb": true, "rpm": true, "apk": true}

// grypeStateFixed is the fix.state under which Grype's fix.versions name
// versions that fix the match.
const grypeStateFixed = "fixed"

// grypeReport is the part of Grype's `-o json` document that a patch plan
// needs. These fields have kept their names since grype 0.7.0, but
// vulnerability.fix only appeared in 0.8.0, source.target is a plain string
// for non-image sources, and artifact.upstreams and metadata depend on the
// syft version. Fields that changed shape (matchDetails went from object
// to array) are not read.
type grypeReport struct {
	Matches []grypeMatch `json:"matches"`
	Source  struct {
		Target json.RawMessage `json:"target"`
	} `json:"source"`
	Distro struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"distro"`
}

type grypeMatch struct {
	Vulnerability grypeVulnerability `json:"vulnerability"`
	Artifact      grypeArtifact      `json:"artifact"`
}

type grypeVulnerability struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	// Fix is nil in reports before grype 0.8.0, which recorded no fix.
	Fix *grypeFix `json:"fix"`
}

type grypeFix struct {
	Versions []string `json:"versions"`
	State    string   `json:"state"`
}

type grypeArtifact struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Type      string `json:"type"`
	Upstreams []struct {
		Name string `json:"name"`
	} `json:"upstreams"`
	// Metadata's shape depends on metadataType and on the syft version
	// that catalogued the image, so it is read leniently by grypeMeta.
	Metadata json.RawMessage `json:"metadata"`
}

// grypeMetadata holds the fields of artifact.metadata this reader uses.
type grypeMetadata struct {
	// Source is the deb source package of older reports, which had no
	// upstreams; dpkg may write it as "name (version)".
	Source string `json:"source"`
	// Epoch is the rpm epoch, which older syft kept out of the version.
	Epoch *int `json:"epoch"`
}

// parseGrype reads a Grype JSON report of any version from 0.7.0 on.
func parseGrype(dt []byte) (Report, error) {
	var doc grypeReport
	if err := decode(dt, &doc); err != nil {
		return Report{}, fmt.Errorf("parsing grype report: %w", err)
	}
	pkgs, err := grypePackages(doc.Matches)
	if err != nil {
		return Report{}, fmt.Errorf("parsing grype report: %w", err)
	}
	artifact, arch := grypeTarget(doc.Source.Target)
	r := Report{
		Scanner:       grypeScanner,
		Artifact:      artifact,
		Architecture:  arch,
		Packages:      pkgs,
		OtherFindings: len(doc.Matches) - osMatches(doc.Matches),
	}
	if name := strings.TrimSpace(doc.Distro.Name); name != "" {
		r.OS = OS{Family: strings.ToLower(name), Version: strings.TrimSpace(doc.Distro.Version)}
	}
	return r, nil
}

// grypeTarget reads source.target: an object with the user's image
// reference and the image architecture for image scans, a plain path
// string for directory and file scans. It is informational, so a shape
// this reader does not know leaves both empty rather than failing.
func grypeTarget(raw json.RawMessage) (artifact, arch string) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, ""
	}
	var t struct {
		UserInput    string `json:"userInput"`
		Architecture string `json:"architecture"`
	}
	if json.Unmarshal(raw, &t) == nil {
		return t.UserInput, t.Architecture
	}
	return "", ""
}

// osMatches counts the matches in OS packages.
func osMatches(matches []grypeMatch) int {
	n := 0
	for _, m := range matches {
		if grypeOSTypes[m.Artifact.Type] {
			n++
		}
	}
	return n
}

// grypePackages folds the OS matches into one Package per binary package
// and installed version. Grype writes one match per (package, location,
// vulnerability, data source), so the same ID can appear several times.
func grypePackages(matches []grypeMatch) ([]Package, error) {
	byKey := map[pkgKey]*Package{}
	for i, m := range matches {
		a := m.Artifact
		if !grypeOSTypes[a.Type] {
			continue
		}
		if a.Name == "" || m.Vulnerability.ID == "" {
			return nil, fmt.Errorf("match %d: missing artifact.name or vulnerability.id", i)
		}
		meta := grypeMeta(a.Metadata)
		installed := grypeInstalled(a, meta)
		k := pkgKey{a.Name, installed}
		p := byKey[k]
		if p == nil {
			p = &Package{Name: a.Name, InstalledVersion: installed, SourceName: grypeSource(a, meta)}
			byKey[k] = p
		}
		p.Vulnerabilities = append(p.Vulnerabilities, grypeVuln(m.Vulnerability, a.Type, installed))
	}
	for _, p := range byKey {
		p.Vulnerabilities = fixableFirst(p.Vulnerabilities)
	}
	return sortPackages(byKey), nil
}

// fixableFirst moves the fixable entries before the others, keeping the
// order within each group. mergeVulns keeps the first status of a repeated
// ID, so this keeps the status that goes with the fixed versions
// ("fixed", not a CPE match's "unknown").
func fixableFirst(vulns []Vulnerability) []Vulnerability {
	out := make([]Vulnerability, 0, len(vulns))
	for _, fixable := range []bool{true, false} {
		for _, v := range vulns {
			if v.Fixable() == fixable {
				out = append(out, v)
			}
		}
	}
	return out
}

// grypeMeta reads the metadata fields this reader uses. A metadata shape
// it does not know yields none of them rather than failing the report.
func grypeMeta(raw json.RawMessage) grypeMetadata {
	var m grypeMetadata
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return grypeMetadata{}
	}
	return m
}

// grypeInstalled returns the installed version as Grype's rpm matcher saw
// it. Syft has not always written an rpm's epoch into the version; some
// reports keep it only in metadata.epoch. Grype prefixed it to the version
// before matching, and so does this reader, so that the fixed versions below inherit it and the plan
// compares with the epoch the rpm database holds. An epoch of 0 is left
// out: rpm reads a missing epoch as 0 anyway.
func grypeInstalled(a grypeArtifact, meta grypeMetadata) string {
	if a.Type != "rpm" || a.Version == "" || strings.Contains(a.Version, ":") ||
		meta.Epoch == nil || *meta.Epoch <= 0 {
		return a.Version
	}
	return strconv.Itoa(*meta.Epoch) + ":" + a.Version
}

// grypeSource returns the source package: the first named upstream, or,
// in reports from before upstreams existed, metadata.source without the
// "(version)" that dpkg may append.
func grypeSource(a grypeArtifact, meta grypeMetadata) string {
	for _, u := range a.Upstreams {
		if name := strings.TrimSpace(u.Name); name != "" {
			return name
		}
	}
	name, _, _ := strings.Cut(strings.TrimSpace(meta.Source), " ")
	return name
}

// grypeVuln converts one match's vulnerability. fix.versions counts only
// when fix.state is "fixed" or empty: for "not-fixed", "wont-fix" and
// "unknown" Grype may still list versions (taken from another data source
// or a CPE range) that the distro does not ship as a fix, and a plan must
// not try to install them. The state is kept as Status either way.
func grypeVuln(v grypeVulnerability, pkgType, installed string) Vulnerability {
	out := Vulnerability{ID: v.ID, Severity: normSeverity(v.Severity)}
	if v.Fix == nil {
		return out
	}
	out.Status = v.Fix.State
	if v.Fix.State != "" && v.Fix.State != grypeStateFixed {
		return out
	}
	var fixes orderedSet
	for _, f := range v.Fix.Versions {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if pkgType == "rpm" {
			f = inheritEpoch(installed, f)
		}
		fixes.add(f)
	}
	out.FixedVersions = fixes.list
	return out
}

// inheritEpoch gives an rpm fixed version without an epoch the installed
// version's epoch. Grype's rpm matcher compares epochs only when both
// versions carry one, because advisory data often strips the epoch: it
// reported "9.11.36-8.el8" against installed "32:9.11.36-5.el8" because it
// read the fix as "32:9.11.36-8.el8". rpm's ordering, which the plan uses,
// reads a missing epoch as 0 and would rank that fix below the installed
// version, dropping a real update.
//
// deb versions are left as written: Grype compares them as dpkg does, a
// missing epoch being 0, so a fix without an epoch means epoch 0; and for
// a match made through the source package, the fix is the source's
// version, whose epoch may differ from the binary's. apk has no epochs.
func inheritEpoch(installed, fixed string) string {
	epoch, _, ok := strings.Cut(installed, ":")
	if !ok || !isDigits(epoch) || strings.Contains(fixed, ":") {
		return fixed
	}
	return epoch + ":" + fixed
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
