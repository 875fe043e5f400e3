package rpm

import "strings"

// release is one RPM-family distribution darn knows: the os-release ID
// (and VERSION_ID prefix) it goes by, the names scanners give it (Trivy's
// Metadata.OS.Family, Grype's distro name), the purl namespace, and the
// tooling image that patches its images without a package manager: the
// distribution's own image of the same major release, with dnf or zypper.
// A new release is a new line.
type release struct {
	ID       string
	Major    string
	Scanners []string
	PURL     string
	Tooling  string
}

var releases = []release{
	{"rhel", "8", []string{"redhat", "rhel"}, "redhat", "registry.access.redhat.com/ubi8/ubi:8.10"},
	{"rhel", "9", []string{"redhat", "rhel"}, "redhat", "registry.access.redhat.com/ubi9/ubi:9.6"},
	{"rocky", "8", []string{"rocky"}, "rocky", "docker.io/rockylinux/rockylinux:8"},
	{"rocky", "9", []string{"rocky"}, "rocky", "docker.io/rockylinux/rockylinux:9"},
	{"almalinux", "8", []string{"alma", "almalinux"}, "almalinux", "docker.io/library/almalinux:8"},
	{"almalinux", "9", []string{"alma", "almalinux"}, "almalinux", "docker.io/library/almalinux:9"},
	{"ol", "8", []string{"oracle", "oraclelinux", "ol"}, "oracle", "docker.io/library/oraclelinux:8"},
	{"ol", "9", []string{"oracle", "oraclelinux", "ol"}, "oracle", "docker.io/library/oraclelinux:9"},
	{"centos", "9", []string{"centos"}, "centos", "quay.io/centos/centos:stream9"},
	{"centos", "10", []string{"centos"}, "centos", "quay.io/centos/centos:stream10"},
	{"fedora", "", []string{"fedora"}, "fedora", "docker.io/library/fedora:"},
	{"amzn", "2", []string{"amazon", "amazonlinux", "amzn"}, "amazon", "docker.io/library/amazonlinux:2"},
	{"amzn", "2023", []string{"amazon", "amazonlinux", "amzn"}, "amazon", "docker.io/library/amazonlinux:2023"},
	{"azurelinux", "3", []string{"azurelinux", "azure linux"}, "azurelinux", "mcr.microsoft.com/azurelinux/base/core:3.0"},
	{"mariner", "2", []string{"cbl-mariner", "mariner"}, "mariner", "mcr.microsoft.com/cbl-mariner/base/core:2.0"},
	{"sles", "15", []string{"suse linux enterprise server", "sles", "sle"}, "suse", "registry.suse.com/bci/bci-base:15.6"},
	{"opensuse-leap", "15", []string{"opensuse.leap", "opensuse-leap", "opensuse leap"}, "opensuse", "docker.io/opensuse/leap:15.6"},
	{"opensuse-tumbleweed", "", []string{"opensuse.tumbleweed", "opensuse-tumbleweed"}, "opensuse", "docker.io/opensuse/tumbleweed:latest"},
}

// families are the ID_LIKE values that make a derivative part of the
// family, tried when its own ID is not in the table.
var families = []string{"rhel", "fedora", "centos", "suse", "opensuse"}

// lookupRelease finds a release by os-release ID and VERSION_ID ("9.4"
// matches major "9"; a major of "" matches every version).
func lookupRelease(id, versionID string) (release, bool) {
	major, _, _ := strings.Cut(versionID, ".")
	for _, r := range releases {
		if r.ID == id && (r.Major == "" || r.Major == major) {
			return r, true
		}
	}
	return release{}, false
}

// tooling names a release's tooling image; Fedora's is tagged with its
// own version.
func (r release) tooling(versionID string) string {
	if strings.HasSuffix(r.Tooling, ":") {
		return r.Tooling + versionID
	}
	return r.Tooling
}
