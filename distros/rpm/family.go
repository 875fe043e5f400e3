package rpm

import (
	"context"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/darn-dev/darn/distros"
)

// Family is the RPM family.
type Family struct{}

var (
	_ distros.Family = Family{}
	_ distros.Pinner = Family{}
)

// Name implements distros.Family.
func (Family) Name() string { return "rpm" }

// Compare orders versions as rpm does (see Versions).
func (Family) Compare(a, b string) (int, error) { return Versions{}.Compare(a, b) }

// Detect says whether rel is an RPM-family release: one of the table's, or
// a derivative of one by ID_LIKE.
func (Family) Detect(_ context.Context, rel distros.Release, _ distros.FS) (distros.Release, bool) {
	if _, ok := lookupRelease(rel.ID, rel.VersionID); ok {
		return rel, true
	}
	for _, f := range families {
		if rel.Is(f) {
			return rel, true
		}
	}
	return distros.Release{}, false
}

// FromReport reads the OS a scanner recorded, for an image without
// os-release: Trivy's family names ("redhat", "rocky", "azurelinux",
// "suse linux enterprise server") or Grype's, and the version.
func (Family) FromReport(family, version string) (distros.Release, bool) {
	name := strings.ToLower(strings.TrimSpace(family))
	for _, r := range releases {
		for _, s := range r.Scanners {
			if s == name && (r.Major == "" || strings.Split(version, ".")[0] == r.Major) {
				return distros.Release{ID: r.ID, VersionID: strings.TrimSpace(version)}, true
			}
		}
	}
	return distros.Release{}, false
}

// Tooling names the default tooling image of a release.
func (Family) Tooling(rel distros.Release) (string, bool) {
	r, ok := lookupRelease(rel.ID, rel.VersionID)
	if !ok || r.Tooling == "" {
		return "", false
	}
	return r.tooling(rel.VersionID), true
}

// PackageURL returns the package URL of an rpm, e.g.
// "pkg:rpm/rocky/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1&distro=rocky-9.4":
// purl's rpm type, the epoch a qualifier as the purl spec and Trivy have
// it, so that Trivy matches VEX statements to the packages it finds.
func (Family) PackageURL(rel distros.Release, name, version, arch string) string {
	ns := rel.ID
	if r, ok := lookupRelease(rel.ID, rel.VersionID); ok {
		ns = r.PURL
	}
	var q packageurl.Qualifiers
	if arch != "" {
		q = append(q, packageurl.Qualifier{Key: "arch", Value: arch})
	}
	if epoch, vr, ok := strings.Cut(version, ":"); ok {
		if epoch != "0" {
			q = append(q, packageurl.Qualifier{Key: "epoch", Value: epoch})
		}
		version = vr
	}
	distro := rel.ID
	if rel.VersionID != "" {
		distro += "-" + rel.VersionID
	}
	q = append(q, packageurl.Qualifier{Key: "distro", Value: distro})
	return packageurl.NewPackageURL(packageurl.TypeRPM, ns, name, version, q, "").ToString()
}
