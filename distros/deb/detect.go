package deb

import (
	"strings"

	"github.com/darn-dev/darn/distros"
)

// suites maps os-release ID, then VERSION_ID, to the release's suite
// (codename) for the releases darn knows. It is read, never written.
var suites = map[string]map[string]string{
	"debian": {
		"10": "buster",
		"11": "bullseye",
		"12": "bookworm",
		"13": "trixie",
	},
	"ubuntu": {
		"18.04": "bionic",
		"18.10": "cosmic",
		"19.04": "disco",
		"19.10": "eoan",
		"20.04": "focal",
		"20.10": "groovy",
		"21.04": "hirsute",
		"21.10": "impish",
		"22.04": "jammy",
		"22.10": "kinetic",
		"23.04": "lunar",
		"23.10": "mantic",
		"24.04": "noble",
	},
}

// Detect reports whether an os-release file describes Debian, Ubuntu or a
// derivative of either (by ID_LIKE), and returns the release. When the file
// has no VERSION_CODENAME, it is filled in from the suite table. A file
// that does not parse is not detected; call distros.ParseOSRelease to see
// why.
func Detect(osRelease []byte) (distros.Release, bool) {
	r, err := distros.ParseOSRelease(osRelease)
	if err != nil || !(r.Is("debian") || r.Is("ubuntu")) {
		return distros.Release{}, false
	}
	if r.VersionCodename == "" {
		r.VersionCodename = suites[r.ID][r.VersionID]
	}
	return r, true
}

// FromReport builds the release from the OS family and version a scanner
// wrote, such as Trivy's Metadata.OS or Grype's distro: ("debian", "12.5")
// gives ID "debian", VersionID "12", and ("ubuntu", "22.04") gives
// VersionID "22.04". Debian point releases are cut to the major version and
// Ubuntu versions to year.month, as os-release spells them. A Debian
// codename from the suite table, such as "bookworm", is also accepted. It
// returns false for other families and for versions it cannot read, such
// as Debian testing's "trixie/sid", which names no release.
func FromReport(family, version string) (distros.Release, bool) {
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
	return distros.Release{ID: id, VersionID: versionID, VersionCodename: suites[id][versionID]}, true
}

// Suite returns the release's suite name as apt sources spell it, e.g.
// "bookworm": the os-release VERSION_CODENAME when set, otherwise the
// suite table's entry. It returns a *distros.UnsupportedError when neither
// names the release.
func Suite(r distros.Release) (string, error) {
	if r.VersionCodename != "" {
		return r.VersionCodename, nil
	}
	if s, ok := suites[r.ID][r.VersionID]; ok {
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
	for id, c := range suites["debian"] {
		if c == version {
			return id
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
