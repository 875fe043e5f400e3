package deb

import (
	"context"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/darn-dev/darn/distros"
)

// Family is the deb family: Debian, Ubuntu and their derivatives, with
// dpkg's database (status, or distroless status.d) and apt.
type Family struct{}

var _ distros.Family = Family{}

// Name implements distros.Family.
func (Family) Name() string { return "deb" }

// Compare orders versions as dpkg does (see Versions).
func (Family) Compare(a, b string) (int, error) { return Versions{}.Compare(a, b) }

// Tooling names the default tooling image of a release: the
// distribution's slim image of the same version.
func (Family) Tooling(rel distros.Release) (string, bool) {
	t := lookupRelease(rel.ID, rel.VersionID).Tooling
	return t, t != ""
}

// PackageURL returns the package URL of a deb binary package, e.g.
// "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12"
// ('+' percent-encoded as the purl specification requires): the namespace
// is the os-release ID, and distro ID-VERSION_ID as Syft and Trivy write it.
func (Family) PackageURL(rel distros.Release, name, version, arch string) string {
	var q packageurl.Qualifiers
	if arch != "" {
		q = append(q, packageurl.Qualifier{Key: "arch", Value: arch})
	}
	distro := rel.ID
	if rel.VersionID != "" {
		distro += "-" + rel.VersionID
	}
	if distro != "" {
		q = append(q, packageurl.Qualifier{Key: "distro", Value: distro})
	}
	p := packageurl.NewPackageURL(packageurl.TypeDebian, strings.ToLower(rel.ID), strings.ToLower(name), version, q, "")
	return p.ToString()
}

// Paths the image's database and package manager live at.
var (
	statusPath  = "/var/lib/dpkg/status"
	statusDPath = "/var/lib/dpkg/status.d"
	// An image patches itself only with all of these; otherwise
	// (distroless) a tooling image does it. /usr/bin/sh covers merged-/usr
	// images.
	packageManagerPaths = [][]string{{"/usr/bin/apt-get"}, {"/usr/bin/dpkg"}, {"/bin/sh", "/usr/bin/sh"}}
)

// hasPackageManager reports whether apt, dpkg and a shell are all there.
func hasPackageManager(ctx context.Context, root distros.FS) bool {
	for _, alternatives := range packageManagerPaths {
		if !distros.StatAny(ctx, root, alternatives...) {
			return false
		}
	}
	return true
}
