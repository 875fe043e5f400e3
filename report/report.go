package report

import (
	"slices"
	"strings"
)

// Report is the scanner-neutral form of a vulnerability report: the OS
// packages it names, with every vulnerability and fixed version it lists.
// Fixed versions are kept as written; choosing the highest one needs the
// distro's own version ordering, which is the plan's job, not the parser's.
type Report struct {
	// Scanner names the tool that wrote the report ("trivy", "grype").
	Scanner string
	// Artifact is the scanned image or path, as the scanner wrote it.
	Artifact string
	// OS is the operating system the scanner detected; zero when unknown.
	OS OS
	// Architecture is the scanned image's architecture when the report
	// records it (e.g. "amd64"); empty otherwise.
	Architecture string
	// Variant is the scanned image's CPU variant when the report records
	// it (e.g. "v7" for arm); empty otherwise.
	Variant string
	// Packages lists OS packages with at least one vulnerability, one entry
	// per binary package name (and installed version), sorted by name.
	Packages []Package
	// OtherFindings counts the vulnerability entries the report lists
	// outside OS packages (language packages, binaries, files), which an
	// OS package update cannot fix and this package therefore skips. It
	// counts entries as the scanner wrote them, repeats included.
	OtherFindings int
}

// Findings returns the number of vulnerabilities the report lists in OS
// packages, each ID counted once per package and installed version.
//
// A report of a clean image is valid and has no findings. Findings and
// OtherFindings tell the empty cases apart: both zero means the report
// lists no vulnerability at all; Findings zero and OtherFindings above
// zero means it lists some, none of them in an OS package.
func (r Report) Findings() int {
	n := 0
	for _, p := range r.Packages {
		n += len(p.Vulnerabilities)
	}
	return n
}

// OS identifies the scanned operating system.
type OS struct {
	// Family is the lower-case distro id ("debian", "ubuntu", "alpine").
	Family string
	// Version is the release as the scanner wrote it ("12.5", "22.04").
	Version string
	// EOSL is set when the scanner marked the release as end of life.
	EOSL bool
}

// Package is one binary package and the vulnerabilities found in it.
type Package struct {
	Name             string
	InstalledVersion string
	// SourceName is the source package, when the report records it.
	SourceName string
	// Vulnerabilities are sorted by ID; an ID appears once.
	Vulnerabilities []Vulnerability
}

// Vulnerability is one advisory against a package.
type Vulnerability struct {
	ID string
	// FixedVersions lists the versions the scanner says fix it. Trivy may
	// write several, comma-separated, for different release branches.
	// Empty means no fix is available.
	FixedVersions []string
	// Status is the scanner's own status word ("fixed", "affected", ...).
	Status string
	// Severity is the scanner's severity, upper-case: UNKNOWN, NEGLIGIBLE
	// (Grype), LOW, MEDIUM, HIGH or CRITICAL; empty when not recorded.
	Severity string
}

// severities orders the severity words, lowest first.
var severities = []string{"UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// SeverityRank orders a severity: 0 for UNKNOWN (and unrecorded or
// unrecognised words), up to 5 for CRITICAL.
func SeverityRank(s string) int {
	return max(slices.Index(severities, strings.ToUpper(strings.TrimSpace(s))), 0)
}

// ValidSeverity says whether s names a severity (any case).
func ValidSeverity(s string) bool {
	return slices.Contains(severities, strings.ToUpper(strings.TrimSpace(s)))
}

// normSeverity is a scanner's severity word as Vulnerability keeps it.
func normSeverity(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s != "" && !slices.Contains(severities, s) {
		return "UNKNOWN"
	}
	return s
}

// Fixable reports whether any fixed version is known.
func (v Vulnerability) Fixable() bool { return len(v.FixedVersions) > 0 }
