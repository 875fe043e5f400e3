package frontend

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/distros/deb"
	"github.com/darn-dev/darn/plan"
	"github.com/darn-dev/darn/report"
)

// Paths read by the probe. /usr/lib/os-release is the fallback that the
// os-release spec names for images without /etc/os-release.
var (
	osReleasePaths  = []string{"/etc/os-release", "/usr/lib/os-release"}
	dpkgStatusPath  = "/var/lib/dpkg/status"
	dpkgStatusDPath = "/var/lib/dpkg/status.d"
	// An image patches itself only with all of these; otherwise (distroless)
	// a tooling image does it. /usr/bin/sh covers merged-/usr images.
	packageManagerPaths = [][]string{{"/usr/bin/apt-get"}, {"/usr/bin/dpkg"}, {"/bin/sh", "/usr/bin/sh"}}
)

// maxPackageDBSize bounds each package database file darn reads; dpkg's
// status file of a large image is a few MiB.
const maxPackageDBSize = 256 << 20

// pkgDB is what the probe learned about an image's packages.
type pkgDB struct {
	release   distros.Release
	installed []plan.Package
	// packageManager is false for images without apt, dpkg or a shell.
	packageManager bool
}

// readPackages detects the distro, reads the installed packages and tells
// whether the image can run its own package manager, all from the image's
// filesystem.
func readPackages(ctx context.Context, ref gwclient.Reference, reported report.OS) (pkgDB, error) {
	rel, err := detect(ctx, ref, reported)
	if err != nil {
		return pkgDB{}, err
	}
	installed, err := readDB(ctx, ref)
	if err != nil {
		return pkgDB{}, err
	}
	return pkgDB{release: rel, installed: installed, packageManager: hasPackageManager(ctx, ref)}, nil
}

// readDB reads dpkg's database: the status file, or the per-package files
// in status.d that distroless images carry instead.
func readDB(ctx context.Context, ref gwclient.Reference) ([]plan.Package, error) {
	status, err := readFile(ctx, ref, dpkgStatusPath, maxPackageDBSize)
	if err == nil {
		return deb.ParseStatus(status)
	}
	entries, dirErr := ref.ReadDir(ctx, gwclient.ReadDirRequest{Path: dpkgStatusDPath})
	if dirErr != nil {
		return nil, fmt.Errorf("reading the dpkg database: %w", errors.Join(err, dirErr))
	}
	files := map[string][]byte{}
	for _, e := range entries {
		// Checksum sidecars are the bulk of status.d and hold no entries.
		if strings.HasSuffix(e.Path, ".md5sums") {
			continue
		}
		p := path.Join(dpkgStatusDPath, e.Path)
		if e.IsDir() {
			// Newer distroless builds keep <pkg>/control and <pkg>/md5sums.
			p = path.Join(p, "control")
		}
		if files[e.Path], err = readFile(ctx, ref, p, maxPackageDBSize); err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
	}
	return deb.ParseStatusDir(files)
}

// hasPackageManager reports whether apt, dpkg and a shell are all there.
func hasPackageManager(ctx context.Context, ref gwclient.Reference) bool {
	for _, alternatives := range packageManagerPaths {
		found := false
		for _, p := range alternatives {
			if _, err := ref.StatFile(ctx, gwclient.StatRequest{Path: p}); err == nil {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// detect tells the distro from the image's own os-release, which is
// authoritative; only an image without one falls back to the report's OS.
func detect(ctx context.Context, ref gwclient.Reference, reported report.OS) (distros.Release, error) {
	osRelease, _, err := readFirst(ctx, ref, osReleasePaths...)
	if err != nil {
		if rel, ok := deb.FromReport(reported.Family, reported.Version); ok {
			return rel, nil
		}
		return distros.Release{}, fmt.Errorf("reading os-release: %w", err)
	}
	if rel, ok := deb.Detect(osRelease); ok {
		return rel, nil
	}
	// Not a family darn patches: name what it is in the error.
	rel, err := distros.ParseOSRelease(osRelease)
	if err != nil {
		return rel, err
	}
	return rel, &distros.UnsupportedError{OS: rel.ID, Version: rel.VersionID}
}
