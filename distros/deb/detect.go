package deb

import (
	"context"
	"strings"

	"github.com/darn-dev/darn/distros"
)

// Detect says whether rel, read from an image's os-release, is Debian,
// Ubuntu or a derivative of either (by ID_LIKE). A release without
// VERSION_CODENAME gets it from the release table.
func (Family) Detect(_ context.Context, rel distros.Release, _ distros.FS) (distros.Release, bool) {
	if !rel.Is("debian") && !rel.Is("ubuntu") {
		return distros.Release{}, false
	}
	if rel.VersionCodename == "" {
		rel.VersionCodename = lookupRelease(rel.ID, rel.VersionID).Codename
	}
	return rel, true
}

// FromReport builds the release from the OS family and version a scanner
// wrote, such as Trivy's Metadata.OS or Grype's distro: ("debian", "12.5")
// gives ID "debian", VersionID "12", and ("ubuntu", "22.04") gives
// VersionID "22.04". Debian point releases are cut to the major version and
// Ubuntu versions to year.month, as os-release spells them. A Debian
// codename from the suite table, such as "bookworm", is also accepted. It
// returns false for other families and for versions it cannot read, such
// as Debian testing's "trixie/sid", which names no release.
func (Family) FromReport(family, version string) (distros.Release, bool) {
	id := strings.ToLower(strings.TrimSpace(family))
	version = strings.TrimSpace(version)
	var versionID string
	switch id {
	case "debian":
		versionID = debianVersionID(version)
	case "ubuntu":
		versionID = ubuntuVersionID(version)
	default:
		return distros.Release{}, false
	}
	if versionID == "" {
		return distros.Release{}, false
	}
	return distros.Release{ID: id, VersionID: versionID, VersionCodename: lookupRelease(id, versionID).Codename}, true
}

// Suite returns the release's suite name as apt sources spell it, e.g.
// "bookworm": the os-release VERSION_CODENAME when set, otherwise the
// suite table's entry. It returns a *distros.UnsupportedError when neither
// names the release.
func Suite(r distros.Release) (string, error) {
	if r.VersionCodename != "" {
		return r.VersionCodename, nil
	}
	if s := lookupRelease(r.ID, r.VersionID).Codename; s != "" {
		return s, nil
	}
	return "", &distros.UnsupportedError{OS: r.ID, Version: r.VersionID}
}

// debianVersionID reads "12", "12.5" or a codename such as "bookworm" as
// the major version.
func debianVersionID(version string) string {
	major, _, _ := strings.Cut(version, ".")
	if isDigits(major) {
		return major
	}
	for _, r := range releases {
		if r.ID == "debian" && r.Codename == version {
			return r.VersionID
		}
	}
	return ""
}

// ubuntuVersionID reads "22.04", "22.04.3" or "22.04 LTS" as "22.04".
func ubuntuVersionID(version string) string {
	word, _, _ := strings.Cut(version, " ")
	parts := strings.SplitN(word, ".", 3)
	if len(parts) < 2 || !isDigits(parts[0]) || !isDigits(parts[1]) {
		return ""
	}
	return parts[0] + "." + parts[1]
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
