package patch

import (
	"context"
	"errors"
	"fmt"

	"github.com/distribution/reference"

	"github.com/darn-dev/darn/distros"
	"github.com/darn-dev/darn/plan"
	"github.com/darn-dev/darn/report"
)

// osReleasePaths are read in order: /usr/lib/os-release is the fallback
// that the os-release specification names.
var osReleasePaths = []string{"/etc/os-release", "/usr/lib/os-release"}

// Inspection is what an image's own files say about it: its package
// family and release, and its installed packages.
type Inspection struct {
	Family    distros.Family
	Release   distros.Release
	Installed distros.Installed
}

// Inspect tells the image's family and release from its own os-release,
// which is authoritative (only an image without one falls back to the
// report's OS), and reads its installed packages.
func Inspect(ctx context.Context, fams distros.Registry, root distros.FS, reported report.OS) (Inspection, error) {
	fam, rel, err := detect(ctx, fams, root, reported)
	if err != nil {
		return Inspection{}, err
	}
	inst, err := fam.Installed(ctx, root)
	if err != nil {
		return Inspection{}, err
	}
	return Inspection{Family: fam, Release: rel, Installed: inst}, nil
}

// detect finds the family of the image's os-release; for an image without
// one, a family's own release file (Alpine's), else the report's OS.
func detect(ctx context.Context, fams distros.Registry, root distros.FS, reported report.OS) (distros.Family, distros.Release, error) {
	dt, _, err := distros.ReadFirst(ctx, root, osReleasePaths...)
	if err != nil {
		if fam, rel, ok := fams.DetectFiles(ctx, root); ok {
			return fam, rel, nil
		}
		if fam, rel, ok := fams.FromReport(reported.Family, reported.Version); ok {
			return fam, rel, nil
		}
		return nil, distros.Release{}, fmt.Errorf("reading os-release: %w", err)
	}
	rel, err := distros.ParseOSRelease(dt)
	if err != nil {
		return nil, rel, err
	}
	if fam, got, ok := fams.Detect(ctx, rel, root); ok {
		return fam, got, nil
	}
	return nil, rel, &distros.UnsupportedError{OS: rel.ID, Version: rel.VersionID}
}

// OS names the release for summaries, e.g. "debian 12".
func (in Inspection) OS() string { return in.Release.ID + " " + in.Release.VersionID }

// Plan plans the report's upgrades against the installed packages.
func (in Inspection) Plan(r report.Report) (plan.Plan, error) {
	return plan.Build(r, in.Installed.Packages, in.Family)
}

// PlanUpgradable plans update-all mode from the Upgradable step's answer:
// every installed package with a newer version in the repositories.
func (in Inspection) PlanUpgradable(answer []byte) (plan.Plan, error) {
	cands, err := in.Family.ParseUpgradable(answer)
	if err != nil {
		return plan.Plan{}, err
	}
	return plan.AllUpgrades(in.Installed.Packages, cands, in.Family)
}

// ToolingImage names the tooling image that patches an image without a
// package manager: override when set, else the release's default, read
// from the image's own release (never from the report).
func (in Inspection) ToolingImage(override reference.Named) (reference.Named, error) {
	if override != nil {
		return override, nil
	}
	name, ok := in.Family.Tooling(in.Release)
	if !ok {
		return nil, fmt.Errorf("no default tooling image for %s %s: set one with --tooling-image: %w",
			in.Release.ID, in.Release.VersionID, &distros.UnsupportedError{OS: in.Release.ID, Version: in.Release.VersionID})
	}
	named, err := ParseImage(name)
	if err != nil {
		return nil, fmt.Errorf("parsing default tooling image %q: %w", name, err)
	}
	return named, nil
}

// Verify checks the package database read back after the upgrade and
// returns the changes, each with its package URL. With ignoreErrors a
// shortfall is no error: it is returned, and the packages that fell short
// claim no fix.
func (in Inspection) Verify(p plan.Plan, after []plan.Package, ignoreErrors bool) ([]plan.Change, *plan.ShortfallError, error) {
	err := plan.Verify(p, after, in.Family)
	var short *plan.ShortfallError
	if err != nil {
		if !errors.As(err, &short) || !ignoreErrors {
			return nil, nil, err
		}
		p = plan.Without(p, short.Packages)
	}
	changes := plan.Changes(p, in.Installed.Packages, after)
	for i, c := range changes {
		changes[i].PURL = in.Family.PackageURL(in.Release, c.Name, c.To, c.Arch)
	}
	return changes, short, nil
}
