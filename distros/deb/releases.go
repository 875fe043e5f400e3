package deb

// release is one Debian or Ubuntu release darn knows: its codename (the
// suite name apt sources use) and the tooling image that patches its
// images without a package manager, the distribution's own slim image of
// the same version (same suites, same keys). A new release is a new line.
type release struct {
	ID, VersionID, Codename string
	Tooling                 string
}

var releases = []release{
	{"debian", "10", "buster", "docker.io/library/debian:10-slim"},
	{"debian", "11", "bullseye", "docker.io/library/debian:11-slim"},
	{"debian", "12", "bookworm", "docker.io/library/debian:12-slim"},
	{"debian", "13", "trixie", "docker.io/library/debian:13-slim"},
	{"ubuntu", "18.04", "bionic", "docker.io/library/ubuntu:18.04"},
	{"ubuntu", "18.10", "cosmic", ""},
	{"ubuntu", "19.04", "disco", ""},
	{"ubuntu", "19.10", "eoan", ""},
	{"ubuntu", "20.04", "focal", "docker.io/library/ubuntu:20.04"},
	{"ubuntu", "20.10", "groovy", ""},
	{"ubuntu", "21.04", "hirsute", ""},
	{"ubuntu", "21.10", "impish", ""},
	{"ubuntu", "22.04", "jammy", "docker.io/library/ubuntu:22.04"},
	{"ubuntu", "22.10", "kinetic", ""},
	{"ubuntu", "23.04", "lunar", ""},
	{"ubuntu", "23.10", "mantic", ""},
	{"ubuntu", "24.04", "noble", "docker.io/library/ubuntu:24.04"},
}

// lookupRelease returns the release table's entry; zero when unknown.
func lookupRelease(id, versionID string) release {
	for _, r := range releases {
		if r.ID == id && r.VersionID == versionID {
			return r
		}
	}
	return release{}
}
