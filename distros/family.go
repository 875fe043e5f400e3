package distros

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/darn-dev/darn/plan"
)

// Family is one package family (deb, rpm, apk): how to recognise its
// images, read and order their packages, and patch them. A family is one
// package implementing this interface; the patch core reaches families
// only through a Registry and never names one.
type Family interface {
	// Name is the family's short name ("deb"): it names the family's
	// cache mounts and appears in messages.
	Name() string
	Detector
	Database
	Patcher
}

// Detector recognises a family's releases.
type Detector interface {
	// Detect says whether rel, read from the image's os-release, is a
	// release of this family, and returns it completed from the family's
	// data (e.g. a codename). root lets a family look at files of its own.
	Detect(ctx context.Context, rel Release, root FS) (Release, bool)
	// FromReport reads the release a scanner recorded (Trivy's
	// Metadata.OS, Grype's distro), for an image without os-release.
	FromReport(family, version string) (Release, bool)
	// Tooling names the default tooling image of a release, which patches
	// images of that release without a package manager; false when the
	// family has none for it.
	Tooling(rel Release) (string, bool)
}

// FileDetector is a Detector that also recognises its releases from files
// of its own, for an image without os-release (Alpine's
// /etc/alpine-release); the patch core asks it before the report.
type FileDetector interface {
	DetectFiles(ctx context.Context, root FS) (Release, bool)
}

// Database reads and orders a family's installed packages.
type Database interface {
	// Installed reads the installed packages from an image's root, and
	// whether the image can run its own package manager.
	Installed(ctx context.Context, root FS) (Installed, error)
	// Compare orders two versions as the family's package manager does.
	Compare(a, b string) (int, error)
	// PackageURL names an installed package as a purl, for VEX.
	PackageURL(rel Release, name, version, arch string) string
}

// Patcher makes the steps that patch an image.
type Patcher interface {
	// Upgrade is the one step that installs the plan's upgrades, each at
	// the lowest version the repositories offer at or above its fixed one:
	// in the image itself, or from a tooling image when u.Tooling is set.
	Upgrade(u Upgrade) (Step, error)
	// Upgradable is the step that lists the installed packages for which
	// the repositories offer a newer version (update-all mode), in the
	// image or its tooling image; ParseUpgradable reads its Output file.
	Upgradable(u Upgrade) (Step, error)
	ParseUpgradable(dt []byte) (map[string]string, error)
}

// Pinner is a Patcher whose package managers cannot themselves install
// the lowest version at or above a fix (they take the newest, or an exact
// version): the patch core runs its Available step, which lists what the
// repositories offer for the plan's packages, and Pin chooses the exact
// version of each upgrade (plan.Item.Version) from that answer.
type Pinner interface {
	Available(u Upgrade) (Step, error)
	// Pin returns the plan with each upgrade's Version set. An upgrade the
	// repositories offer no version for is an error naming every such
	// package, or, with skipMissing, becomes plan.ActionUnavailable.
	Pin(p plan.Plan, answer []byte, skipMissing bool) (plan.Plan, error)
}

// Installed is what an image's package database says.
type Installed struct {
	Packages []plan.Package
	// PackageManager is false for images that cannot patch themselves
	// (no package manager or no shell): a tooling image patches them.
	PackageManager bool
	// Manager names the package manager found, for families with several
	// (rpm: dnf, yum, microdnf, tdnf, zypper); empty otherwise.
	Manager string
	// Database names the kind of package database read, for families with
	// several (rpm: "rpmdb", or "manifest" for a container manifest).
	Database string
}

// Upgrade is what a family's steps are asked to do.
type Upgrade struct {
	// Plan holds the upgrades to install (Upgrade).
	Plan plan.Plan
	// Installed lists the image's packages (Upgradable).
	Installed []plan.Package
	// Tooling says the step runs in the tooling image, the image's root
	// mounted at TargetDir.
	Tooling bool
	// Release is the image's release, and Manager and Database what its
	// inspection found (Installed.Manager, Installed.Database).
	Release  Release
	Manager  string
	Database string
	// Mirrors replace repository URLs while patching only.
	Mirrors []Mirror
	// FetchTimeout bounds each request of the package manager; zero is
	// the family's default.
	FetchTimeout time.Duration
	// Refreshed says the update-all probe has just refreshed the package
	// indexes on this step's cache mounts and planned from them: a family
	// may skip refreshing them again.
	Refreshed bool
	// SkipMissing leaves out, with a warning, packages whose repositories
	// offer no version at or above the fixed one, instead of failing.
	SkipMissing bool
	// Epoch is the time every file the step writes gets, so that the
	// layer's bytes do not depend on when the step ran.
	Epoch time.Time
}

// SharedEnv is the environment of the scripts' shared part (shared.sh and
// each family's fetch settings): DARN_REPO_MIRRORS, "ORIGINAL MIRROR"
// lines with the longest original first so that a more specific prefix
// wins; DARN_FETCH_TIMEOUT in whole seconds; DARN_EPOCH for settle_times.
func (u Upgrade) SharedEnv() [][2]string {
	var env [][2]string
	if len(u.Mirrors) > 0 {
		sorted := SortMirrors(u.Mirrors)
		lines := make([]string, len(sorted))
		for i, m := range sorted {
			lines[i] = m.Original + " " + m.Mirror
		}
		env = append(env, [2]string{"DARN_REPO_MIRRORS", strings.Join(lines, "\n")})
	}
	if u.FetchTimeout > 0 {
		env = append(env, [2]string{"DARN_FETCH_TIMEOUT", strconv.Itoa(int(max(u.FetchTimeout.Seconds(), 1)))})
	}
	if !u.Epoch.IsZero() {
		env = append(env, [2]string{"DARN_EPOCH", strconv.FormatInt(max(u.Epoch.Unix(), 0), 10)})
	}
	return env
}

// Registry is the set of families the patch core knows, tried in order.
type Registry []Family

// Detect returns the first family rel belongs to, with rel completed.
func (r Registry) Detect(ctx context.Context, rel Release, root FS) (Family, Release, bool) {
	for _, f := range r {
		if got, ok := f.Detect(ctx, rel, root); ok {
			return f, got, true
		}
	}
	return nil, rel, false
}

// DetectFiles returns the first family that recognises the image from
// files of its own (FileDetector), for an image without os-release.
func (r Registry) DetectFiles(ctx context.Context, root FS) (Family, Release, bool) {
	for _, f := range r {
		if fd, ok := f.(FileDetector); ok {
			if rel, ok := fd.DetectFiles(ctx, root); ok {
				return f, rel, true
			}
		}
	}
	return nil, Release{}, false
}

// FromReport returns the first family that reads the report's OS.
func (r Registry) FromReport(family, version string) (Family, Release, bool) {
	for _, f := range r {
		if rel, ok := f.FromReport(family, version); ok {
			return f, rel, true
		}
	}
	return nil, Release{}, false
}
