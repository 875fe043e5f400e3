package apk

import (
	"context"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/darn-dev/darn/distros"
)

// Family is the apk family. ToolingImage names darn's own image, whose
// installer patches every apk image (see Tooling).
type Family struct {
	ToolingImage string
}

var (
	_ distros.Family       = Family{}
	_ distros.FileDetector = Family{}
)

// Name implements distros.Family.
func (Family) Name() string { return "apk" }

// Compare orders versions as apk does (see Versions).
func (Family) Compare(a, b string) (int, error) { return Versions{}.Compare(a, b) }

// alpineRelease is Alpine's own release file, read when os-release has no
// VERSION_ID.
const alpineRelease = "/etc/alpine-release"

// Detect says whether rel is an apk-family release (Alpine, Wolfi,
// Chainguard, or a derivative of one by ID_LIKE), completing its version
// from /etc/alpine-release when os-release lacks one.
func (Family) Detect(ctx context.Context, rel distros.Release, root distros.FS) (distros.Release, bool) {
	if _, ok := lookupRelease(rel.ID); !ok && !rel.Is("alpine") && !rel.Is("wolfi") {
		return distros.Release{}, false
	}
	if rel.VersionID == "" && root != nil {
		if dt, err := root.ReadFile(ctx, alpineRelease); err == nil {
			rel.VersionID = strings.TrimSpace(string(dt))
		}
	}
	return rel, true
}

// DetectFiles recognises an Alpine image without os-release by its
// /etc/alpine-release.
func (Family) DetectFiles(ctx context.Context, root distros.FS) (distros.Release, bool) {
	dt, err := root.ReadFile(ctx, alpineRelease)
	v := strings.TrimSpace(string(dt))
	if err != nil || v == "" || strings.ContainsAny(v, " \t\n") {
		return distros.Release{}, false
	}
	return distros.Release{ID: "alpine", VersionID: v}, true
}

// FromReport reads the OS a scanner recorded, for an image without
// os-release: "alpine", "wolfi" or "chainguard" (Trivy and Grype alike).
func (Family) FromReport(family, version string) (distros.Release, bool) {
	r, ok := lookupRelease(family)
	if !ok {
		return distros.Release{}, false
	}
	return distros.Release{ID: r.ID, VersionID: strings.TrimSpace(version)}, true
}

// Tooling names darn's own image for every release: its installer needs
// nothing of the image (no apk, shell or libc), so one image patches
// Alpine, Wolfi and distroless Chainguard images alike.
func (f Family) Tooling(distros.Release) (string, bool) {
	return f.ToolingImage, f.ToolingImage != ""
}

// PackageURL returns the package URL of an apk package as Trivy writes
// it, e.g. "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=3.20.3": the
// namespace is the distribution, distro its version.
func (Family) PackageURL(rel distros.Release, name, version, arch string) string {
	ns := strings.ToLower(rel.ID)
	if r, ok := lookupRelease(rel.ID); ok {
		ns = r.PURL
	}
	var q packageurl.Qualifiers
	if arch != "" {
		q = append(q, packageurl.Qualifier{Key: "arch", Value: arch})
	}
	if rel.VersionID != "" {
		q = append(q, packageurl.Qualifier{Key: "distro", Value: rel.VersionID})
	}
	return packageurl.NewPackageURL(packageurl.TypeApk, ns, strings.ToLower(name), version, q, "").ToString()
}
